//! Portcullis pages: the Leptos application shared by the server (feature `ssr`) and the
//! WebAssembly bundle that hydrates it in the browser (feature `hydrate`).
//!
//! This crate never depends on the protocol core or storage: pages reach them through server
//! functions and context provided by the server binary, so the wasm bundle stays small.

pub mod admin;
pub mod app;
pub mod charts;
pub mod developers;
pub mod docs;
mod landing;
pub mod pages;

pub use app::{shell, App};

/// Entry point of the wasm bundle: attaches the client-side runtime to the server's HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
