//! Domain values parsed once at the HTTP edge (STYLE.md, "parse, don't validate"): the rest of
//! the service holds these types, never unchecked strings. `usage` is the pure logic of the
//! usage report built from them.

pub mod account;
pub mod codes;
pub mod device;
pub mod ids;
pub mod join;
pub mod license;
pub mod offline;
pub mod time;
pub mod trial;
pub mod usage;
