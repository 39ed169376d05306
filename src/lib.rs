//! gazette: polls news sites, normalizes every article into an embedded sled archive where the
//! same story from several sites is one article, and republishes curated topical feeds.
//!
//! The modules are the pipeline's stages, in the order data flows through them:
//! [`config`] → [`schedule`] → [`fetch`] → [`decode`] → [`parse`] → [`normalize`] → [`archive`]
//! (dedup) → [`curate`] (topics) → [`publish`] → [`serve`]. [`poll`] wires one pass of ingest
//! for one source; [`cli`] is the command line; [`model`] is the shared vocabulary.

pub mod config;
pub mod schedule;
pub mod fetch;
pub mod decode;
pub mod parse;
pub mod extract;
pub mod normalize;
pub mod archive;
pub mod query;
pub mod curate;
pub mod publish;
pub mod serve;
pub mod model;
pub mod poll;
pub mod status;
pub mod service;
pub mod housekeeping;
pub mod telemetry;
pub mod memory;
pub mod opml;
pub mod cli;
