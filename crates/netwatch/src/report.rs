//! SLA reports.
