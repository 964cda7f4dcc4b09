//! The benchmarks of BENCHMARKS.md (`make bench`): the pieces worth testing on their own.
//! The binary (`sluice-bench`) wires them to PostgreSQL and the moto server.

pub mod gen;
pub mod rag;
pub mod rows;
pub mod rss;
