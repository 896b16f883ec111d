//! The HTML shell and the route table.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

use crate::landing::LandingPage;

/// The document around every page: head, hydration scripts, body.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.ico"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="portcullis" href="/pkg/portcullis.css"/>
        <Title text="Portcullis"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=StaticSegment("") view=LandingPage/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="mx-auto max-w-2xl p-8">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <a class="text-indigo-700 underline" href="/">"Back to the start page"</a>
        </main>
    }
}
