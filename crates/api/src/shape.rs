//! Every shape error of a JSON body at once: wrong types, missing and unknown fields, values
//! outside the documented limits.
//!
//! serde stops at the first thing it cannot read. When it does, the body is checked against
//! the schema the OpenAPI document gives for it (the contract a client was promised, enums,
//! ranges and patterns included), with a JSON Schema validator that reports every violation
//! with its place in the body. A body serde reads is never checked here: the domain's
//! validation then names every field at fault itself.

use rendan_domain::Invalid;
use serde_json::Value;
use std::collections::HashMap;

/// Compiled schemas of the request bodies, by component name.
pub struct Shapes {
    validators: HashMap<String, jsonschema::Validator>,
}

impl Shapes {
    /// Compiles a validator for each component schema of `doc` (an OpenAPI 3.1 document as
    /// JSON); references between components resolve inside the document.
    pub fn from_openapi(doc: &Value) -> Shapes {
        let components = doc.get("components").cloned().unwrap_or(Value::Null);
        let names: Vec<String> = components
            .get("schemas")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut validators = HashMap::new();
        for name in names {
            let schema = serde_json::json!({
                "$ref": format!("#/components/schemas/{name}"),
                "components": components,
            });
            // A component the validator cannot compile only loses the fuller report: the
            // caller falls back to serde's first error.
            match jsonschema::validator_for(&schema) {
                Ok(v) => {
                    validators.insert(name, v);
                }
                Err(e) => tracing::warn!(component = %name, error = %e, "no shape check"),
            }
        }
        Shapes { validators }
    }

    /// Everything wrong with `body` as the component `name`, each with the field's path
    /// (`lines[0].qty`); empty when it fits (or no schema is known).
    pub fn check(&self, name: &str, body: &Value) -> Vec<Invalid> {
        let Some(v) = self.validators.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<Invalid> = Vec::new();
        for e in v.iter_errors(body) {
            let at = field(&e.instance_path().to_string());
            let join = |name: &str| {
                if at.is_empty() {
                    name.to_string()
                } else {
                    format!("{at}.{name}")
                }
            };
            use jsonschema::error::ValidationErrorKind as K;
            match e.kind() {
                K::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    out.push(Invalid::new(join(name), "missing field"));
                }
                K::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        out.push(Invalid::new(join(name), "unknown field"));
                    }
                }
                K::Enum { options } => {
                    let allowed = options.as_array().map_or(0, Vec::len);
                    let message = if allowed <= 8 {
                        format!("must be one of {options}")
                    } else {
                        "is not one of the documented values".to_string()
                    };
                    out.push(Invalid::new(or_body(at), message));
                }
                _ => out.push(Invalid::new(or_body(at), e.to_string())),
            }
        }
        // One report per field and message, in body order.
        out.dedup();
        out
    }
}

fn or_body(at: String) -> String {
    if at.is_empty() { "body".into() } else { at }
}

/// A JSON pointer (`/lines/0/qty`) as the API names fields (`lines[0].qty`).
fn field(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(field(""), "");
        assert_eq!(field("/lines/0/qty"), "lines[0].qty");
        assert_eq!(field("/customer/lat"), "customer.lat");
    }

    #[test]
    fn every_shape_error_is_named() {
        let doc = json!({"components": {"schemas": {
            "Body": {"type": "object", "additionalProperties": false, "required": ["a", "items"],
                "properties": {"a": {"type": "integer", "maximum": 5},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "Item": {"type": "object", "additionalProperties": false, "required": ["sku"],
                "properties": {"sku": {"type": "string"}}}
        }}});
        let shapes = Shapes::from_openapi(&doc);
        let errors = shapes.check(
            "Body",
            &json!({"a": 9, "extra": 1, "items": [{"sku": 3}, {"other": true}]}),
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "a",
            "extra",
            "items[0].sku",
            "items[1].sku",
            "items[1].other",
        ] {
            assert!(fields.contains(&f), "{f} missing from {errors:?}");
        }
        assert!(
            shapes
                .check("Body", &json!({"a": 1, "items": []}))
                .is_empty()
        );
    }
}
