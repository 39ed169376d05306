//! gazette: polls news sites, normalizes every article into an embedded sled archive where the
//! same story from several sites is one article, and republishes curated topical feeds.
//!
//! The modules are the pipeline's stages, in the order data flows through them:
//! [`config`] → [`schedule`] → [`fetch`] → [`decode`] → [`parse`] → [`normalize`] → [`archive`].
//! [`poll`] wires one pass of that pipeline for one source; [`cli`] is the command line.

pub mod archive;
pub mod cli;
pub mod config;
pub mod decode;
pub mod fetch;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod poll;
pub mod schedule;
