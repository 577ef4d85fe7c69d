//! Storage backends of the broker. The engine's contract (`PoolStore`: pools, seats, member
//! status, tombstones, usage counts) is implemented by `embedded::EmbeddedStore`, the default
//! backend that needs no other service.

pub mod embedded;

pub use embedded::EmbeddedStore;
