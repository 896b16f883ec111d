//! In-process tests of every HTTP endpoint, run on SQLite and (with
//! `PORTCULLIS_TEST_BACKEND=postgres`) on PostgreSQL. Case ids (E-01, G-09, …) refer to
//! shared/SECURITY.md's catalog.

mod admin;
mod api_keys;
mod api_keys_redis;
mod boundary;
mod browser;
mod changes;
mod developers;
mod discovery;
mod faults;
mod instances;
mod introspection;
mod jobs;
mod operations;
mod revocation;
mod startup;
mod support;
mod token;
mod user_catalog;
mod user_flows;
