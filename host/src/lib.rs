//! Host side of mfp-oauth: std drivers that carry the core's bytes over real
//! sockets, and the pieces of the `mfp-oauth` command-line tool.

pub mod catalogue;
