//! The topology's tables: nodes, sites, products and makers, upserted so that ids stay stable.

use crate::backend;
use rendan_domain::topology::Topology;
use rendan_store::StoreError;
use sqlx::SqliteConnection;

/// Upserts nodes, sites, products and makers.
pub(crate) async fn save(conn: &mut SqliteConnection, t: &Topology) -> Result<(), StoreError> {
    for n in t.nodes() {
        sqlx::query(
            "INSERT INTO nodes (id, name, region, lat, lon, availability_target, agent, main) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, region = excluded.region, lat = excluded.lat, \
             lon = excluded.lon, availability_target = excluded.availability_target, agent = excluded.agent, main = excluded.main",
        )
        .bind(n.id.as_str())
        .bind(&n.name)
        .bind(n.region.as_str())
        .bind(n.location.lat())
        .bind(n.location.lon())
        .bind(n.availability_target)
        .bind(n.agent.as_deref())
        .bind(n.main)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for s in t.sites() {
        sqlx::query(
            "INSERT INTO sites (id, kind, node, region, lat, lon, radius_km) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, node = excluded.node, region = excluded.region, \
             lat = excluded.lat, lon = excluded.lon, radius_km = excluded.radius_km",
        )
        .bind(s.id.as_str())
        .bind(s.kind.as_str())
        .bind(s.node.as_str())
        .bind(s.region.as_str())
        .bind(s.location.lat())
        .bind(s.location.lon())
        .bind(s.serves_radius_km)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for p in t.products() {
        sqlx::query(
            "INSERT INTO products (sku, name, category, volume_m3, weight_kg, install_minutes, skill) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, category = excluded.category, volume_m3 = excluded.volume_m3, \
             weight_kg = excluded.weight_kg, install_minutes = excluded.install_minutes, skill = excluded.skill",
        )
        .bind(p.sku.as_str())
        .bind(&p.name)
        .bind(p.category.as_str())
        .bind(p.volume_m3)
        .bind(p.weight_kg)
        .bind(i64::from(p.install_minutes))
        .bind(p.skill.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        sqlx::query("DELETE FROM product_makers WHERE sku = ?")
            .bind(p.sku.as_str())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        for m in &p.makers {
            sqlx::query("INSERT INTO product_makers (sku, factory, lead_days) VALUES (?, ?, ?)")
                .bind(p.sku.as_str())
                .bind(m.factory.as_str())
                .bind(i64::from(m.lead_days))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}
