//! The one integration test binary: helpers in `support`, one module per area.

mod support;

mod architecture;
mod browser;
mod cli;
mod daemon;
mod faults;
mod history;
mod fidelity;
mod crash;
mod dates;
mod dedup;
mod operations;
mod pages;
mod polling;
mod publish;
mod search;
mod service;
mod steady;
mod topics;
mod web;
