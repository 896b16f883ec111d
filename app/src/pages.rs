//! The end-user pages: sign-in, consent, account and messages. Each is a plain HTML form that
//! posts to the server, so it works with no JavaScript at all; the server renders them with
//! the data it passes in as props.

use leptos::prelude::*;

/// One scope as the consent page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLine {
    pub name: String,
    pub description: String,
    /// Descriptions of what the scope includes.
    pub includes: Vec<String>,
}

/// One remembered consent on the account page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentLine {
    pub client_id: String,
    pub client_name: String,
    pub scopes: String,
}

#[component]
fn Card(title: String, children: Children) -> impl IntoView {
    view! {
        <main class="mx-auto mt-16 max-w-md rounded-xl bg-white p-8 shadow">
            <p class="text-sm font-semibold uppercase tracking-wider text-indigo-700">"Portcullis"</p>
            <h1 class="mt-2 text-2xl font-bold">{title}</h1>
            {children()}
        </main>
    }
}

#[component]
pub fn LoginPage(
    client_name: Option<String>,
    csrf: String,
    error: Option<String>,
    username: String,
) -> impl IntoView {
    let subtitle = client_name.map(|name| format!("to continue to {name}"));
    view! {
        <Card title="Sign in".to_owned()>
            {subtitle.map(|s| view! { <p class="mt-1 text-slate-600" data-testid="client-name">{s}</p> })}
            {error.map(|e| view! {
                <p class="mt-4 rounded bg-red-50 p-3 text-sm text-red-800" role="alert">{e}</p>
            })}
            <form method="post" action="/login" class="mt-6 space-y-4">
                <input type="hidden" name="csrf" value=csrf/>
                <label class="block">
                    <span class="text-sm font-medium">"Username"</span>
                    <input name="username" value=username autocomplete="username" required
                        class="mt-1 w-full rounded border border-slate-300 px-3 py-2"/>
                </label>
                <label class="block">
                    <span class="text-sm font-medium">"Password"</span>
                    <input name="password" type="password" autocomplete="current-password" required
                        class="mt-1 w-full rounded border border-slate-300 px-3 py-2"/>
                </label>
                <button type="submit"
                    class="w-full rounded bg-indigo-700 px-4 py-2 font-semibold text-white">
                    "Sign in"
                </button>
            </form>
        </Card>
    }
}

#[component]
pub fn ConsentPage(
    client_name: String,
    username: String,
    scopes: Vec<ScopeLine>,
    csrf: String,
) -> impl IntoView {
    view! {
        <Card title=format!("{client_name} wants access to your account")>
            <p class="mt-1 text-slate-600">{format!("Signed in as {username}")}</p>
            <ul class="mt-6 space-y-3" data-testid="scopes">
                {scopes.into_iter().map(|scope| view! {
                    <li class="rounded border border-slate-200 p-3">
                        <p class="font-medium">{scope.description}</p>
                        <p class="text-xs text-slate-500"><code>{scope.name}</code></p>
                        {(!scope.includes.is_empty()).then(|| view! {
                            <p class="mt-1 text-sm text-slate-600">
                                {format!("Includes: {}", scope.includes.join("; "))}
                            </p>
                        })}
                    </li>
                }).collect_view()}
            </ul>
            <form method="post" action="/consent" class="mt-6 flex gap-3">
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" name="decision" value="allow"
                    class="flex-1 rounded bg-indigo-700 px-4 py-2 font-semibold text-white">
                    "Allow"
                </button>
                <button type="submit" name="decision" value="deny"
                    class="flex-1 rounded border border-slate-300 px-4 py-2 font-semibold">
                    "Deny"
                </button>
            </form>
        </Card>
    }
}

#[component]
pub fn AccountPage(username: String, consents: Vec<ConsentLine>, csrf: String) -> impl IntoView {
    let empty = consents.is_empty();
    view! {
        <Card title="Your account".to_owned()>
            <p class="mt-1 text-slate-600">{format!("Signed in as {username}")}</p>
            <h2 class="mt-6 font-semibold">"Applications you allowed"</h2>
            {empty.then(|| view! { <p class="mt-2 text-sm text-slate-600">"None."</p> })}
            <ul class="mt-2 space-y-3" data-testid="consents">
                {consents.into_iter().map(|c| {
                    let csrf = csrf.clone();
                    view! {
                        <li class="flex items-center justify-between rounded border border-slate-200 p-3">
                            <div>
                                <p class="font-medium">{c.client_name}</p>
                                <p class="text-xs text-slate-500">{c.scopes}</p>
                            </div>
                            <form method="post" action="/account/consents/revoke">
                                <input type="hidden" name="csrf" value=csrf/>
                                <input type="hidden" name="client_id" value=c.client_id/>
                                <button type="submit" class="text-sm text-red-700 underline">"Revoke"</button>
                            </form>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Card>
    }
}

#[component]
pub fn MessagePage(title: String, message: String) -> impl IntoView {
    view! {
        <Card title=title>
            <p class="mt-4 text-slate-700" data-testid="message">{message}</p>
        </Card>
    }
}

/// A whole document around one page, rendered on the server. These pages take no hydration
/// bundle: they are forms, and the server answers every post with a redirect.
#[cfg(feature = "ssr")]
pub fn render_document(title: &str, body: impl FnOnce() -> AnyView) -> String {
    let owner = Owner::new();
    let body = owner.with(|| body().to_html());
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"/favicon.ico\"><link rel=\"stylesheet\" href=\"/pkg/portcullis.css\">\
         <title>{} · Portcullis</title></head>\
         <body class=\"min-h-screen bg-slate-50 text-slate-900 antialiased\">{body}</body></html>",
        html_escape(title)
    )
}

#[cfg(feature = "ssr")]
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
