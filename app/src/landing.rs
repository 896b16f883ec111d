//! The landing page at `/`: what this server is and where its machine-readable entry points are.

use leptos::prelude::*;

#[component]
pub fn LandingPage() -> impl IntoView {
    // Becomes true only in the browser, once the wasm bundle has hydrated the page: the browser
    // test waits for it to prove the whole build pipeline works.
    let (interactive, set_interactive) = signal(false);
    Effect::new(move |_| set_interactive.set(true));

    view! {
        <main class="mx-auto max-w-3xl px-6 py-16">
            <p class="text-sm font-semibold uppercase tracking-wider text-indigo-700">
                "Portcullis"
            </p>
            <h1 class="mt-2 text-4xl font-bold tracking-tight">
                "OAuth 2 and OpenID Connect for your partner APIs"
            </h1>
            <p class="mt-4 text-lg text-slate-600">
                "This server issues and checks access tokens for the platform's APIs. Client "
                "libraries find everything they need in the discovery document."
            </p>
            <ul class="mt-8 space-y-2">
                <EndpointLink
                    href="/.well-known/openid-configuration"
                    label="OpenID Provider metadata"
                />
                <EndpointLink
                    href="/.well-known/oauth-authorization-server"
                    label="OAuth 2 server metadata (RFC 8414)"
                />
                <EndpointLink href="/oauth2/jwks" label="Signing keys (JWKS)"/>
            </ul>
            <p class="mt-10 text-xs text-slate-500" data-testid="hydration-status">
                {move || if interactive.get() { "interactive" } else { "server-rendered" }}
            </p>
        </main>
    }
}

#[component]
fn EndpointLink(href: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <li>
            // rel=external: these are server endpoints, not pages; the client-side router must not
            // take the click.
            <a
                class="font-medium text-indigo-700 underline-offset-4 hover:underline"
                href=href
                rel="external"
            >
                {label}
            </a>
            <code class="ml-2 rounded bg-slate-200 px-1.5 py-0.5 text-sm">{href}</code>
        </li>
    }
}
