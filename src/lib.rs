//! Roadshow: the backend of a nationwide small-business roadshow (see README.md and ARCHITECTURE.md).
//!
//! One module per feature; each holds its routes (HTTP in and out only), its domain rules and its
//! queries. Handlers never write SQL; queries never see HTTP.

pub mod accommodations;
pub mod actor;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod credits;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod experts;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod partners;
pub mod privacy;
pub mod ratelimit;
pub mod registrations;
pub mod reports;
pub mod resources;
pub mod rollups;
pub mod routes;
pub mod site;
pub mod states;
pub mod telemetry;
pub mod time;
pub mod validate;
pub mod webhooks;
pub mod wire;
