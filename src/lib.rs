//! gazette: polls news sites, normalizes every article into an embedded sled archive where the
//! same story from several sites is one article, and republishes curated topical feeds.
//!
//! The modules are the pipeline's stages, in the order data flows through them:
//! [`config`] → [`schedule`] → [`fetch`] → [`decode`] → [`parse`] / [`extract`] → [`normalize`]
//! → [`archive`] (dedup) → [`curate`] (topics) → [`publish`] → [`serve`]. [`query`] is the topic
//! query language (a leaf that `config`, `curate` and `extract` use); [`model`] the shared
//! vocabulary; [`poll`] one pass of ingest for one source; [`health`] source health for people;
//! [`live`] the configuration in force. [`daemon`] assembles and runs all of it; [`cli`] is the
//! command line. There is no import cycle between top-level modules
//! (`tests/integration/architecture.rs` checks).

pub mod secrets;
pub mod config;
pub mod schedule;
pub mod fetch;
pub mod decode;
pub mod parse;
pub mod query;
pub mod extract;
pub mod normalize;
pub mod archive;
pub mod curate;
pub mod search;
pub mod publish;
pub mod model;
pub mod health;
pub mod live;
pub mod telemetry;
pub mod memory;
pub mod opml;
pub mod serve;
pub mod poll;
pub mod daemon;
pub mod cli;
