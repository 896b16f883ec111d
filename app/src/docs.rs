//! The developer portal's public documentation: the guides at `/developers` and
//! `/developers/docs/{slug}`, written against this server's behaviour, with the issuer
//! substituted into every example.
//!
//! The pages are static HTML: no script, no inline style, nothing that needs the wasm bundle, so
//! they read the same with JavaScript off. The scope catalogue and the endpoint table are filled
//! from the live registry and discovery document by the server; everything else is prose here.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One scope of the live registry, as the catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDoc {
    pub name: String,
    pub description: String,
    /// Empty when the registry gives none.
    pub category: String,
    /// Scopes it grants as well (declared inheritance, already expanded).
    pub includes: Vec<String>,
    /// Needs an end user: refused for client_credentials and API keys.
    pub requires_user: bool,
}

/// One endpoint from the live discovery document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDoc {
    /// The metadata name, e.g. `token_endpoint`.
    pub name: String,
    pub url: String,
}

/// What every docs page knows about its reader and the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsContext {
    /// PORTCULLIS_ISSUER, e.g. `https://auth.example.com`: substituted into every example.
    pub issuer: String,
    /// The signed-in partner's email, if any: the account links differ.
    pub partner: Option<String>,
    /// The CSRF token of the sign-out form when signed in.
    pub csrf: String,
}

/// Every docs page: (slug, title). `home` is served at `/developers`, the others at
/// `/developers/docs/{slug}`. The order is the reading order of the navigation.
pub const DOCS: [(&str, &str); 11] = [
    ("home", "Developer portal"),
    ("getting-started", "Getting started"),
    ("authorization-code", "Authorization code with PKCE"),
    ("client-credentials", "Client credentials"),
    ("refresh-tokens", "Refresh tokens"),
    ("tokens", "Tokens and signing keys"),
    ("api-keys", "API keys"),
    ("scopes", "Scopes"),
    ("endpoints", "Endpoints"),
    ("errors", "Errors"),
    ("rate-limits", "Rate limits and retries"),
];

/// The title of a docs page; `None` for a slug that names no page (the server answers 404).
pub fn docs_title(slug: &str) -> Option<&'static str> {
    DOCS.into_iter().find(|(s, _)| *s == slug).map(|(_, title)| title)
}

const HOME_PATH: &str = "/developers";
const SIGNUP_PATH: &str = "/developers/signup";
const LOGIN_PATH: &str = "/developers/login";
const LOGOUT_PATH: &str = "/developers/logout";
const CONSOLE_PATH: &str = "/developers/console";
const NEW_CLIENT_PATH: &str = "/developers/clients/new";

// Class lists used on every page. Tailwind finds them in this source, so they stay literals.
const PARA: &str = "mt-3 leading-7 text-slate-700";
const LIST: &str = "mt-3 list-disc space-y-2 pl-6 leading-7 text-slate-700";
const LINK: &str = "font-medium text-indigo-700 underline-offset-4 hover:underline";
const CODE: &str = "rounded bg-slate-200 px-1 py-0.5 font-mono text-sm text-slate-900";
const TABLE: &str = "mt-4 w-full min-w-max border-collapse text-left text-sm";
const TH: &str = "border-b border-slate-300 py-2 pr-4 font-semibold text-slate-900";
const TD: &str = "border-b border-slate-200 py-2 pr-4 align-top text-slate-700";
const NAV_HERE: &str = "block rounded px-3 py-1.5 bg-indigo-50 font-semibold text-indigo-800";
const NAV_OTHER: &str = "block rounded px-3 py-1.5 text-slate-700 hover:bg-slate-100";

/// Where a docs page is served.
fn href(slug: &str) -> String {
    if slug == "home" {
        HOME_PATH.to_owned()
    } else {
        format!("/developers/docs/{slug}")
    }
}

/// Fills `{issuer}` into an example. Not `format!`: the examples are shell, JavaScript, Python
/// and Rust full of braces of their own, and doubling each one would make them unreadable here.
fn fill(template: &str, issuer: &str) -> String {
    template.replace("{issuer}", issuer)
}

/// A whole docs page: the account links, the guide navigation with the current entry marked,
/// and the guide for `slug`. Only the scopes page reads `scopes`, and only the endpoints page
/// reads `endpoints` and `grant_types`.
#[component]
pub fn DocsPage(
    context: DocsContext,
    slug: String,
    scopes: Vec<ScopeDoc>,
    endpoints: Vec<EndpointDoc>,
    grant_types: Vec<String>,
) -> impl IntoView {
    // The issuer is validated without a trailing slash; trimming keeps examples right anyway.
    let issuer = context.issuer.trim_end_matches('/').to_owned();
    let signed_in = context.partner.is_some();
    let title = docs_title(&slug).unwrap_or("Page not found");
    let content = match slug.as_str() {
        "home" => home(signed_in),
        "getting-started" => getting_started(&issuer),
        "authorization-code" => authorization_code(&issuer),
        "client-credentials" => client_credentials(&issuer),
        "refresh-tokens" => refresh_tokens(&issuer),
        "tokens" => tokens(&issuer),
        "api-keys" => api_keys(&issuer),
        "scopes" => scope_catalogue(scopes),
        "endpoints" => endpoint_table(&issuer, endpoints, grant_types),
        "errors" => errors(),
        "rate-limits" => rate_limits(&issuer),
        _ => not_found(),
    };
    view! {
        <div class="mx-auto max-w-6xl px-6 py-8">
            <AccountBar partner=context.partner csrf=context.csrf/>
            <div class="mt-8 flex flex-col gap-10 md:flex-row">
                <DocsNav current=slug.clone()/>
                <main class="min-w-0 max-w-3xl flex-1" data-testid=format!("docs-{slug}")>
                    <h1 class="text-3xl font-bold tracking-tight text-slate-900">{title}</h1>
                    {content}
                </main>
            </div>
        </div>
    }
}

/// The brand and the account links: console and sign-out for a signed-in partner, sign-in and
/// sign-up for everyone else. Sign-out is a form because it changes state (CSRF-checked POST).
#[component]
fn AccountBar(partner: Option<String>, csrf: String) -> impl IntoView {
    let links = match partner {
        Some(email) => view! {
            <span class="text-slate-500">{email}</span>
            <a class=LINK href=CONSOLE_PATH>"Console"</a>
            <form method="post" action=LOGOUT_PATH>
                <input type="hidden" name="csrf" value=csrf/>
                <button type="submit" class="text-slate-700 underline">"Sign out"</button>
            </form>
        }
        .into_any(),
        None => view! {
            <a class=LINK href=LOGIN_PATH>"Sign in"</a>
            <a class="rounded bg-indigo-700 px-3 py-1.5 font-semibold text-white" href=SIGNUP_PATH>
                "Create an account"
            </a>
        }
        .into_any(),
    };
    view! {
        <header class="flex flex-wrap items-center justify-between gap-4 border-b \
                       border-slate-200 pb-4">
            <a class="text-sm font-semibold uppercase tracking-wider text-indigo-700"
                href=HOME_PATH>
                "Portcullis for developers"
            </a>
            <nav aria-label="Account" class="flex flex-wrap items-center gap-4 text-sm">
                {links}
            </nav>
        </header>
    }
}

#[component]
fn DocsNav(current: String) -> impl IntoView {
    view! {
        <nav aria-label="Documentation" class="md:w-56 md:shrink-0">
            <ul class="space-y-1 text-sm">
                {DOCS.into_iter().map(|(slug, title)| {
                    let here = slug == current;
                    let class = if here { NAV_HERE } else { NAV_OTHER };
                    view! {
                        <li>
                            <a class=class href=href(slug) aria-current=here.then_some("page")>
                                {title}
                            </a>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

#[component]
fn Section(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="mt-10">
            <h2 class="text-xl font-semibold text-slate-900">{title}</h2>
            {children()}
        </section>
    }
}

/// One code example. The text is escaped by the renderer like any other text.
#[component]
fn Example(label: &'static str, code: String) -> impl IntoView {
    view! {
        <figure class="mt-5">
            <figcaption class="text-xs font-semibold uppercase tracking-wide text-slate-500">
                {label}
            </figcaption>
            <pre class="mt-1 overflow-x-auto rounded-lg bg-slate-900 p-4 text-sm leading-6 \
                        text-slate-100"><code>{code}</code></pre>
        </figure>
    }
}

/// The libraries the flow guides use: each language's standard OAuth client.
const OAUTH_CLIENTS: [&str; 3] =
    ["JavaScript: openid-client 6", "Python: Authlib", "Rust: oauth2 5"];
/// The libraries the API-key guide uses: a key is a header and a JSON body, no OAuth flow.
const HTTP_CLIENTS: [&str; 3] =
    ["JavaScript: fetch (Node.js 18+)", "Python: requests", "Rust: reqwest 0.12"];

/// The same step in the four languages every guide covers, labelled with the library each
/// example uses ([`OAUTH_CLIENTS`] unless told otherwise).
#[component]
fn FourWays(
    issuer: String,
    curl: &'static str,
    js: &'static str,
    python: &'static str,
    rust: &'static str,
    #[prop(default = OAUTH_CLIENTS)] libraries: [&'static str; 3],
) -> impl IntoView {
    let [js_label, python_label, rust_label] = libraries;
    view! {
        <Example label="curl" code=fill(curl, &issuer)/>
        <Example label=js_label code=fill(js, &issuer)/>
        <Example label=python_label code=fill(python, &issuer)/>
        <Example label=rust_label code=fill(rust, &issuer)/>
    }
}

/// A link to another guide, labelled with its title.
#[component]
fn Guide(slug: &'static str) -> impl IntoView {
    view! { <a class=LINK href=href(slug)>{docs_title(slug).unwrap_or(slug)}</a> }
}

fn not_found() -> AnyView {
    view! {
        <p class=PARA>
            "There is no guide at this address. " <a class=LINK href=HOME_PATH>"See them all"</a>
            "."
        </p>
    }
    .into_any()
}

fn home(signed_in: bool) -> AnyView {
    let start = if signed_in {
        view! {
            <p class=PARA>
                "You are signed in: your clients, keys, usage and notifications are in the "
                <a class=LINK href=CONSOLE_PATH>"console"</a> "."
            </p>
        }
        .into_any()
    } else {
        view! {
            <p class=PARA>
                <a class=LINK href=SIGNUP_PATH>"Create an account"</a>
                " for your organisation to begin, or " <a class=LINK href=LOGIN_PATH>"sign in"</a>
                " if you have one."
            </p>
        }
        .into_any()
    };
    view! {
        <p class="mt-4 text-lg leading-8 text-slate-600">
            "This portal is where partner developers learn how to reach the platform's APIs, "
            "request OAuth clients and API keys for their organisation, and watch their own "
            "usage."
        </p>
        <p class=PARA>
            "Nothing you request works until an administrator approves it: your account, each "
            "client and each key wait for a decision, which may grant less than you asked for. "
            "The console's notifications tell you every outcome."
        </p>
        {start}
        <Section title="Guides">
            <ul class=LIST>
                <li><Guide slug="getting-started"/>": from an account to a first token."</li>
                <li>
                    <Guide slug="authorization-code"/>
                    ": act for a signed-in user (web, single-page and native apps)."
                </li>
                <li><Guide slug="client-credentials"/>": machine to machine, no user."</li>
                <li><Guide slug="refresh-tokens"/>": rotation, replay, and lifetimes."</li>
                <li><Guide slug="tokens"/>": what a token holds and how to check one."</li>
                <li><Guide slug="api-keys"/>": for integrations that cannot run OAuth."</li>
                <li><Guide slug="scopes"/>": the live catalogue of what you can ask for."</li>
                <li><Guide slug="endpoints"/>": every URL, from the discovery document."</li>
                <li><Guide slug="errors"/>": each error code and what to do about it."</li>
                <li><Guide slug="rate-limits"/>": limits, headers and backing off."</li>
            </ul>
        </Section>
    }
    .into_any()
}

fn getting_started(issuer: &str) -> AnyView {
    let first_token = fill(examples::FIRST_TOKEN, issuer);
    view! {
        <p class=PARA>
            "Six steps take you from nothing to a working access token. Every setting is "
            "yours to state: the server never fills one in for you."
        </p>
        <Section title="1. Create an account">
            <p class=PARA>
                "Sign up at " <a class=LINK href=SIGNUP_PATH>{SIGNUP_PATH}</a>
                " with your email, name, organisation and a password. The account is "
                "pending until an administrator approves it; a rejection comes with a reason, "
                "shown when you try to sign in."
            </p>
        </Section>
        <Section title="2. Sign in">
            <p class=PARA>
                "Once approved, sign in at " <a class=LINK href=LOGIN_PATH>{LOGIN_PATH}</a>
                ". Clients and keys belong to your organisation, not to you alone: colleagues "
                "join it with an invitation code from the Organisation page, entered on the "
                "sign-up form (their accounts are approved like yours)."
            </p>
        </Section>
        <Section title="3. Request a client">
            <p class=PARA>
                "Fill in " <a class=LINK href=NEW_CLIENT_PATH>{NEW_CLIENT_PATH}</a>
                ". There are no defaults: each field says what you need."
            </p>
            <ul class=LIST>
                <li>"A name (users see it on the consent screen) and a description."</li>
                <li>"A business justification: what the administrator decides on."</li>
                <li>
                    "The client type. " <strong>"Confidential"</strong>
                    ": a server that can keep a secret. " <strong>"Public"</strong>
                    ": a browser or native app; it has no secret, signs users in with the "
                    "authorization code grant and cannot use client_credentials."
                </li>
                <li>
                    "Grant types: " <code class=CODE>"authorization_code"</code> ", "
                    <code class=CODE>"refresh_token"</code> " (only together with "
                    "authorization_code), " <code class=CODE>"client_credentials"</code>
                    " (confidential clients only)."
                </li>
                <li>
                    "How the client authenticates at the token endpoint: "
                    <code class=CODE>"client_secret_basic"</code> " or "
                    <code class=CODE>"client_secret_post"</code> " for a confidential client, "
                    <code class=CODE>"none"</code> " for a public one."
                </li>
                <li>
                    "Redirect URIs, for authorization_code only: absolute, https (plain http "
                    "only for 127.0.0.1 or [::1]), no fragment, matched byte for byte."
                </li>
                <li>
                    "Optionally, post-logout redirect URIs: the only places sign-out may "
                    "return to."
                </li>
                <li>
                    "Scopes, from the " <Guide slug="scopes"/> " catalogue. If you ask for "
                    <code class=CODE>"openid"</code> ", also the algorithm your ID tokens are "
                    "signed with (ES256, RS256 or EdDSA)."
                </li>
                <li>
                    "The access-token and refresh-token lifetimes, in seconds (see "
                    <Guide slug="tokens"/> ")."
                </li>
            </ul>
        </Section>
        <Section title="4. Wait for approval">
            <p class=PARA>
                "An administrator approves the client, possibly with fewer scopes than you "
                "asked for, or rejects it with a reason. Either way the decision appears in "
                "the notifications list of your console."
            </p>
        </Section>
        <Section title="5. Reveal the secret">
            <p class=PARA>
                "A confidential client's secret (it starts with " <code class=CODE>"pcs_"</code>
                ") is revealed once, on the client's page after approval. Put it straight into "
                "your secret store: Portcullis keeps only a keyed hash and cannot show it "
                "again. If it is lost or leaked, rotate it (see " <Guide slug="tokens"/> ")."
            </p>
        </Section>
        <Section title="6. Get a first token">
            <p class=PARA>
                "A client allowed client_credentials can ask right away. Scope names in these "
                "guides are examples: use ones your client was approved for."
            </p>
            <Example label="curl" code=first_token/>
            <p class=PARA>
                "Clients that act for users start with the " <Guide slug="authorization-code"/>
                " guide instead."
            </p>
        </Section>
    }
    .into_any()
}

fn authorization_code(issuer: &str) -> AnyView {
    let (shown, owned) = (issuer.to_owned(), issuer.to_owned());
    view! {
        <p class=PARA>
            "A user signs in at Portcullis and consents; your app receives a one-time code at "
            "its redirect URI and exchanges it for tokens. Only " <code class=CODE>"code"</code>
            " is a supported response type: no implicit or hybrid flows."
        </p>
        <Section title="What every request needs">
            <ul class=LIST>
                <li>
                    <strong>"PKCE with S256, for every client"</strong>
                    ", confidential ones too. A missing challenge or "
                    <code class=CODE>"plain"</code> " is refused."
                </li>
                <li>
                    <strong>"An exact redirect URI."</strong>
                    " Send " <code class=CODE>"redirect_uri"</code>
                    " every time, byte for byte one you registered; only a loopback URI "
                    "(127.0.0.1 or [::1]) may differ, in its port. Otherwise the user sees an "
                    "error page and your app hears nothing."
                </li>
                <li>
                    <strong>"A scope."</strong>
                    " There is no default; unknown or unapproved scopes are "
                    <code class=CODE>"invalid_scope"</code> "."
                </li>
                <li>
                    <strong>"A state."</strong>
                    " An unguessable value tied to the user's session; Portcullis returns it "
                    "unchanged (up to 2048 characters) and you compare it before anything else."
                </li>
                <li>
                    <strong>"A nonce with openid."</strong>
                    " The ID token carries it back (up to 512 characters); compare it."
                </li>
            </ul>
            <p class=PARA>
                "Every answer to your redirect URI, success or error, also carries "
                <code class=CODE>"iss"</code> " (RFC 9207): check that it is "
                <code class=CODE>{shown}</code>
                ". Optional " <code class=CODE>"prompt"</code> " values are "
                <code class=CODE>"none"</code> ", " <code class=CODE>"login"</code> " and "
                <code class=CODE>"consent"</code> "; with " <code class=CODE>"prompt=none"</code>
                " no page is shown and you get " <code class=CODE>"login_required"</code> " or "
                <code class=CODE>"consent_required"</code> " instead."
            </p>
        </Section>
        <Section title="The token request">
            <p class=PARA>
                "POST the code to the token endpoint, form-encoded, with "
                <code class=CODE>"grant_type=authorization_code"</code> ", "
                <code class=CODE>"code"</code> ", " <code class=CODE>"code_verifier"</code>
                " and, optionally, the same " <code class=CODE>"redirect_uri"</code>
                ". A confidential client authenticates the way it registered; a public client "
                "sends only " <code class=CODE>"client_id"</code> " and PKCE proves the rest."
            </p>
            <ul class=LIST>
                <li>
                    "Codes are single use and short lived (60 seconds unless the operator "
                    "changed it). Exchange at once, and never retry with the same code: a second "
                    "redemption revokes every token the first one produced."
                </li>
                <li>
                    "The answer holds " <code class=CODE>"access_token"</code> ", "
                    <code class=CODE>"expires_in"</code> " and the granted "
                    <code class=CODE>"scope"</code> "; " <code class=CODE>"refresh_token"</code>
                    " if the client has that grant; " <code class=CODE>"id_token"</code>
                    " if openid was granted."
                </li>
                <li>
                    "Public clients are asked for consent every time: anyone can send their "
                    "client_id, so a remembered consent is not used for them."
                </li>
            </ul>
        </Section>
        <Section title="Verifying the ID token">
            <ul class=LIST>
                <li>
                    "Check the signature with the key from the JWKS whose "
                    <code class=CODE>"kid"</code> " matches, and that "
                    <code class=CODE>"alg"</code> " is the algorithm your client registered."
                </li>
                <li>
                    <code class=CODE>"iss"</code> " is the issuer, " <code class=CODE>"aud"</code>
                    " is your client_id, " <code class=CODE>"exp"</code> " lies ahead and "
                    <code class=CODE>"nonce"</code> " is the one you sent."
                </li>
                <li>
                    "The user is " <code class=CODE>"sub"</code> "; " <code class=CODE>"name"</code>
                    ", " <code class=CODE>"preferred_username"</code> " and "
                    <code class=CODE>"email"</code> " come only with the profile and email scopes."
                </li>
            </ul>
            <p class=PARA>
                "openid-client checks these claims itself and checks the signature too after "
                <code class=CODE>"client.enableNonRepudiationChecks(config)"</code>
                ". The oauth2 crate does not read ID tokens: use the openidconnect crate or a "
                "JOSE library for that step."
            </p>
        </Section>
        <Section title="Examples">
            <FourWays
                issuer=owned
                curl=examples::CODE_CURL
                js=examples::CODE_JS
                python=examples::CODE_PYTHON
                rust=examples::CODE_RUST
            />
        </Section>
    }
    .into_any()
}

fn client_credentials(issuer: &str) -> AnyView {
    let issuer = issuer.to_owned();
    view! {
        <p class=PARA>
            "A confidential client gets a token for itself, with no user involved: back-end "
            "jobs, service-to-service calls. The token's " <code class=CODE>"sub"</code> " is "
            <code class=CODE>"client:"</code> " followed by your client_id."
        </p>
        <Section title="Authenticate the way you registered">
            <ul class=LIST>
                <li>
                    <code class=CODE>"client_secret_basic"</code>
                    ": HTTP Basic, with the client_id and secret each form-urlencoded first. "
                    "Portcullis ids and secrets use only letters, digits, "
                    <code class=CODE>"-"</code> " and " <code class=CODE>"_"</code>
                    ", so encoding changes nothing."
                </li>
                <li>
                    <code class=CODE>"client_secret_post"</code> ": "
                    <code class=CODE>"client_id"</code> " and "
                    <code class=CODE>"client_secret"</code> " as form fields."
                </li>
            </ul>
            <p class=PARA>
                "The other method is refused, never tried as a fallback, and so is sending "
                "both at once. Every failure is the same 401 "
                <code class=CODE>"invalid_client"</code>
                ", whatever went wrong."
            </p>
        </Section>
        <Section title="Ask for the scopes you need">
            <p class=PARA>
                "There are no default scopes: a request without " <code class=CODE>"scope"</code>
                " is " <code class=CODE>"invalid_scope"</code>
                ". You get exactly what you asked for, plus the scopes those include, as long "
                "as your client was approved for it. Scopes that need an end user (such as "
                <code class=CODE>"openid"</code> ") are refused for this grant. No refresh "
                "token is issued: ask again when the access token expires."
            </p>
        </Section>
        <Section title="Examples">
            <FourWays
                issuer=issuer
                curl=examples::CC_CURL
                js=examples::CC_JS
                python=examples::CC_PYTHON
                rust=examples::CC_RUST
            />
        </Section>
    }
    .into_any()
}

fn refresh_tokens(issuer: &str) -> AnyView {
    let issuer = issuer.to_owned();
    view! {
        <p class=PARA>
            "A client with the " <code class=CODE>"refresh_token"</code>
            " grant receives a refresh token (it starts with " <code class=CODE>"pcrt_"</code>
            ") alongside the first access token, and trades it for new tokens without the "
            "user signing in again."
        </p>
        <Section title="Rotation">
            <ul class=LIST>
                <li>
                    "Every refresh returns a " <strong>"new"</strong>
                    " refresh token, and the one you sent stops working. Save the new one "
                    "before you use the access token."
                </li>
                <li>
                    "Presenting a spent refresh token again is treated as theft: the whole "
                    "family, every refresh and access token that came from the same "
                    "authorization, is revoked, and the user must sign in again."
                </li>
                <li>
                    "Two refreshes with the same token at the same moment: one wins, the other "
                    "gets " <code class=CODE>"invalid_grant"</code>
                    " without harming the winner. Do not retry the loser with the old token "
                    "later; that is a replay. Refresh once per grant and share the result."
                </li>
                <li>
                    "If a refresh answer is lost in transit, the token you sent may already be "
                    "spent. When a retry answers " <code class=CODE>"invalid_grant"</code>
                    ", send the user through sign-in again."
                </li>
            </ul>
        </Section>
        <Section title="Lifetime and scope">
            <ul class=LIST>
                <li>
                    "The family has an absolute lifetime, the refresh-token lifetime registered "
                    "for your client, counted from the authorization's first tokens. Refreshing "
                    "does not extend it."
                </li>
                <li>
                    "You may send " <code class=CODE>"scope"</code>
                    " to narrow a refresh to part of the original grant; asking for more is "
                    <code class=CODE>"invalid_scope"</code> " and spends nothing."
                </li>
                <li>
                    "A disabled user or client stops refreshing at once, and a user withdrawing "
                    "consent revokes the grant. Revoking a refresh token at the revocation "
                    "endpoint revokes its family."
                </li>
            </ul>
        </Section>
        <Section title="Examples">
            <FourWays
                issuer=issuer
                curl=examples::RT_CURL
                js=examples::RT_JS
                python=examples::RT_PYTHON
                rust=examples::RT_RUST
            />
        </Section>
    }
    .into_any()
}

fn tokens(issuer: &str) -> AnyView {
    let jwks = format!("{issuer}/oauth2/jwks");
    let shown = issuer.to_owned();
    let verify = fill(examples::VERIFY_JS, issuer);
    let introspect = fill(examples::INTROSPECT_CURL, issuer);
    view! {
        <Section title="Lifetimes">
            <ul class=LIST>
                <li>
                    "The access-token and refresh-token lifetimes are set per client: you state "
                    "them when you request the client, an administrator approves them, and "
                    "nothing is defaulted."
                </li>
                <li>
                    "The server caps every access-token lifetime (the operator's maximum, one "
                    "day unless changed). An administrator may give a client a longer lifetime "
                    "for named scopes during set hours, still within the cap."
                </li>
                <li>
                    "Refresh tokens live at most a year. Read " <code class=CODE>"expires_in"</code>
                    " from each answer rather than assuming a value."
                </li>
            </ul>
        </Section>
        <Section title="Access tokens">
            <p class=PARA>
                "Access tokens are JWTs (RFC 9068) with header "
                <code class=CODE>"typ: at+jwt"</code>
                " and claims " <code class=CODE>"iss"</code> ", " <code class=CODE>"sub"</code> ", "
                <code class=CODE>"aud"</code> ", " <code class=CODE>"client_id"</code> ", "
                <code class=CODE>"scope"</code> ", " <code class=CODE>"jti"</code> ", "
                <code class=CODE>"iat"</code> " and " <code class=CODE>"exp"</code>
                ". An API that receives one checks:"
            </p>
            <ul class=LIST>
                <li>
                    "the signature, with the JWKS key named by " <code class=CODE>"kid"</code>
                    ", and an " <code class=CODE>"alg"</code> " equal to that key's;"
                </li>
                <li>
                    <code class=CODE>"typ"</code> " is " <code class=CODE>"at+jwt"</code>
                    ", so an ID token (" <code class=CODE>"typ: JWT"</code>
                    ") is never taken for an access token;"
                </li>
                <li>
                    <code class=CODE>"iss"</code> " is " <code class=CODE>{shown}</code>
                    ", " <code class=CODE>"aud"</code> " is the platform API's identifier, "
                    <code class=CODE>"exp"</code> " lies ahead, and "
                    <code class=CODE>"scope"</code>
                    " holds what the call needs."
                </li>
            </ul>
            <p class=PARA>
                "A signature cannot tell you that a token was revoked. Where that matters, ask "
                "the introspection endpoint, which answers for your own client's tokens."
            </p>
            <Example label="JavaScript: jose" code=verify/>
            <Example label="curl: introspection" code=introspect/>
        </Section>
        <Section title="Signing keys rotate">
            <p class=PARA>
                "The keys are published at " <code class=CODE>{jwks}</code>
                " (cacheable for five minutes). Always select the key by "
                <code class=CODE>"kid"</code> "; when a token names a kid you do not have, "
                "fetch the JWKS again once before rejecting it. A retired key stays published "
                "until every token it signed has expired."
            </p>
        </Section>
        <Section title="Client secrets rotate too">
            <p class=PARA>
                "From your client's page in the console you can replace the secret. The new one "
                "is shown once. The old one keeps working for the overlap you choose, up to the "
                "maximum an administrator allowed for that client (which may be none); deploy "
                "the new secret everywhere within it. After the overlap only the new secret "
                "authenticates."
            </p>
        </Section>
    }
    .into_any()
}

fn api_keys(issuer: &str) -> AnyView {
    let verify_url = format!("{issuer}/api-keys/verify");
    let usage = fill(examples::KEY_USAGE, issuer);
    let (call_issuer, verify_issuer) = (issuer.to_owned(), issuer.to_owned());
    view! {
        <p class=PARA>
            "For partners who cannot run an OAuth flow. An API key is a long-lived secret "
            "(it starts with " <code class=CODE>"pcak_"</code>
            ") that your integration sends with each call to the platform's API."
        </p>
        <Section title="What a key is">
            <ul class=LIST>
                <li>
                    "It belongs to one of your approved clients and can never do more: its "
                    "scopes are within the client's, and scopes that need an end user are "
                    "refused."
                </li>
                <li>
                    "It has a rate limit per minute (required), optionally a burst, an IP "
                    "allowlist (CIDR ranges) and an expiry. Without an allowlist any address "
                    "may use it; without an expiry it lasts until revoked."
                </li>
                <li>
                    "It waits for an administrator like a client does, and may be approved with "
                    "fewer scopes or a lower limit."
                </li>
                <li>
                    "It is shown once. Portcullis keeps a keyed hash and its first 11 "
                    "characters, so lists can tell keys apart."
                </li>
                <li>
                    "It is compared exactly as sent: a trailing newline or changed case makes it "
                    "another, unknown key. Never put it in a URL or in code users can read."
                </li>
            </ul>
        </Section>
        <Section title="Rotating a key">
            <p class=PARA>
                "Rotation issues a successor with the same client, scopes, limits, allowlist "
                "and expiry. The old key keeps working for the overlap you choose, up to what "
                "an administrator allowed for that client; switch your integration within it. "
                "A revoked key stops everywhere within a second, for good."
            </p>
        </Section>
        <Section title="How a key is checked">
            <p class=PARA>
                "You send the key to the platform's API in the header its gateway documents, "
                "usually " <code class=CODE>"Authorization: Bearer pcak_…"</code>
                ". The gateway, not you, asks Portcullis about it at "
                <code class=CODE>{verify_url}</code>
                ", with the scopes the call needs and your address, and answers you according "
                "to the outcome (see " <Guide slug="errors"/> " and "
                <Guide slug="rate-limits"/> ")."
            </p>
            <h3 class="mt-6 font-semibold text-slate-900">
                "Your call (the API host is an example)"
            </h3>
            <FourWays
                libraries=HTTP_CLIENTS
                issuer=call_issuer
                curl=examples::KEY_CALL
                js=examples::KEY_CALL_JS
                python=examples::KEY_CALL_PYTHON
                rust=examples::KEY_CALL_RUST
            />
            <h3 class="mt-6 font-semibold text-slate-900">
                "What the gateway sends (if you run the gateway)"
            </h3>
            <FourWays
                libraries=HTTP_CLIENTS
                issuer=verify_issuer
                curl=examples::KEY_VERIFY
                js=examples::KEY_VERIFY_JS
                python=examples::KEY_VERIFY_PYTHON
                rust=examples::KEY_VERIFY_RUST
            />
            <p class=PARA>
                "Only clients an administrator allowed to verify keys may call this endpoint; "
                "the key travels in the JSON body, never in the query string."
            </p>
        </Section>
        <Section title="Your usage">
            <p class=PARA>
                "Verifications are counted per key, day and outcome, with the addresses seen. "
                "Read them in the console, or as the key's client with HTTP Basic (dates in "
                "UTC, the last 30 days when left out):"
            </p>
            <Example label="curl" code=usage/>
        </Section>
    }
    .into_any()
}

fn scope_catalogue(scopes: Vec<ScopeDoc>) -> AnyView {
    let table = if scopes.is_empty() {
        view! { <p class=PARA>"No scopes are registered yet."</p> }.into_any()
    } else {
        view! {
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="scope-catalogue">
                    <thead>
                        <tr>
                            <th class=TH scope="col">"Scope"</th>
                            <th class=TH scope="col">"Description"</th>
                            <th class=TH scope="col">"Category"</th>
                            <th class=TH scope="col">"Includes"</th>
                            <th class=TH scope="col">"Needs an end user"</th>
                        </tr>
                    </thead>
                    <tbody>{scopes.into_iter().map(scope_row).collect_view()}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <p class=PARA>
            "The scopes of the live registry. Ask for them by name, space-separated, in the "
            <code class=CODE>"scope"</code> " parameter; there is no default."
        </p>
        {table}
        <Section title="How scopes are granted">
            <ul class=LIST>
                <li>
                    "Inheritance is declared in the registry: a scope may include others (a "
                    "write scope including the matching read scope, say). Asking for it grants "
                    "those as well, and the answer's " <code class=CODE>"scope"</code>
                    " lists the whole set."
                </li>
                <li>
                    "The server grants exactly what you asked for and were allowed, plus those "
                    "inclusions. A scope that is unknown or outside your client's approved set "
                    "is " <code class=CODE>"invalid_scope"</code> ", never dropped silently."
                </li>
                <li>
                    "Scopes that need an end user are refused for client_credentials and API "
                    "keys, also when another requested scope includes one."
                </li>
                <li>
                    "Discovery's " <code class=CODE>"scopes_supported"</code>
                    " lists only the scopes marked public; the others work the same."
                </li>
            </ul>
        </Section>
    }
    .into_any()
}

fn scope_row(scope: ScopeDoc) -> impl IntoView {
    let category = if scope.category.is_empty() { "—".to_owned() } else { scope.category };
    let includes =
        if scope.includes.is_empty() { "—".to_owned() } else { scope.includes.join(" ") };
    view! {
        <tr>
            <td class=TD><code class=CODE>{scope.name}</code></td>
            <td class=TD>{scope.description}</td>
            <td class=TD>{category}</td>
            <td class=TD>{includes}</td>
            <td class=TD>{if scope.requires_user { "Yes" } else { "No" }}</td>
        </tr>
    }
}

fn endpoint_table(issuer: &str, endpoints: Vec<EndpointDoc>, grant_types: Vec<String>) -> AnyView {
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let shown = issuer.to_owned();
    let verify = format!("POST {issuer}/api-keys/verify");
    let usage = format!("GET {issuer}/api-keys/{{key_id}}/usage");
    let revoke = fill(examples::REVOKE_CURL, issuer);
    let table = if endpoints.is_empty() {
        view! { <p class=PARA>"The discovery document could not be read just now."</p> }.into_any()
    } else {
        view! {
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="endpoint-table">
                    <thead>
                        <tr>
                            <th class=TH scope="col">"Metadata name"</th>
                            <th class=TH scope="col">"URL"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {endpoints.into_iter().map(|e| view! {
                            <tr>
                                <td class=TD><code class=CODE>{e.name}</code></td>
                                <td class=TD>
                                    <code class="break-all font-mono text-sm">{e.url}</code>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <p class=PARA>
            "Generated from the live discovery document at " <code class=CODE>{discovery}</code>
            " (the same metadata is at "
            <code class=CODE>"/.well-known/oauth-authorization-server"</code>
            "). Client libraries read it themselves: give them the issuer, "
            <code class=CODE>{shown}</code> "."
        </p>
        {table}
        <p class=PARA>
            "Grant types supported: "
            {grant_types
                .into_iter()
                .map(|g| view! { <code class=CODE>{g}</code>" " })
                .collect_view()}
        </p>
        <Section title="Beyond discovery">
            <ul class=LIST>
                <li>
                    <code class=CODE>{verify}</code>
                    ": API-key verification, for the platform's gateways (see "
                    <Guide slug="api-keys"/> ")."
                </li>
                <li>
                    <code class=CODE>{usage}</code>
                    ": a key's usage, for its own client."
                </li>
            </ul>
        </Section>
        <Section title="Request rules">
            <ul class=LIST>
                <li>
                    "Token, introspection and revocation requests are "
                    <code class=CODE>"application/x-www-form-urlencoded"</code>
                    ", at most 16 KiB, each parameter sent once, and authenticated the way the "
                    "client registered."
                </li>
                <li>
                    "Userinfo takes the access token in the "
                    <code class=CODE>"Authorization: Bearer"</code>
                    " header only, and needs the openid scope."
                </li>
            </ul>
        </Section>
        <Section title="Revocation and introspection">
            <ul class=LIST>
                <li>
                    "Revocation (RFC 7009) answers 200 for a token that is unknown, expired or "
                    "not yours, and changes nothing then: the answer is no oracle. Revoking a "
                    "refresh token revokes its whole family. After a 503 the revocation may "
                    "not have happened: retry, which is harmless if it had."
                </li>
                <li>
                    "Introspection (RFC 7662) requires client authentication and tells a client "
                    "only about its own access tokens; any other token is "
                    <code class=CODE>"{\"active\":false}"</code>
                    ", exactly like an invalid one."
                </li>
            </ul>
            <Example label="curl" code=revoke/>
        </Section>
    }
    .into_any()
}

fn errors() -> AnyView {
    view! {
        <p class=PARA>
            "Token, introspection and revocation errors are JSON, "
            <code class=CODE>"{\"error\":\"…\",\"error_description\":\"…\"}"</code>
            ", never cached. The description is written for you, the developer: log it, but "
            "branch on " <code class=CODE>"error"</code> " only."
        </p>
        <p class=PARA>
            "Authorization errors go back to your redirect URI as " <code class=CODE>"error"</code>
            ", " <code class=CODE>"error_description"</code> ", " <code class=CODE>"state"</code>
            " and " <code class=CODE>"iss"</code>
            ". When the client is unknown or unapproved, or the redirect URI is missing or not "
            "registered, the user sees an error page instead and nothing reaches you."
        </p>
        <Section title="OAuth error codes">
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="error-codes">
                    <thead>
                        <tr>
                            <th class=TH scope="col">"error"</th>
                            <th class=TH scope="col">"Status"</th>
                            <th class=TH scope="col">"Meaning and what to do"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {ERROR_CODES.into_iter().map(|(code, status, advice)| view! {
                            <tr>
                                <td class=TD><code class=CODE>{code}</code></td>
                                <td class=TD>{status}</td>
                                <td class=TD>{advice}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </Section>
        <Section title="API-key verification outcomes">
            <p class=PARA>
                "The gateway receives one of these " <code class=CODE>"reason"</code>
                " values and answers your call with the status shown."
            </p>
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="key-outcomes">
                    <thead>
                        <tr>
                            <th class=TH scope="col">"reason"</th>
                            <th class=TH scope="col">"You get"</th>
                            <th class=TH scope="col">"What to do"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {KEY_OUTCOMES.into_iter().map(|(reason, status, advice)| view! {
                            <tr>
                                <td class=TD><code class=CODE>{reason}</code></td>
                                <td class=TD>{status}</td>
                                <td class=TD>{advice}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </Section>
    }
    .into_any()
}

/// The codes of the server's catalogue that a partner can meet, with the status they come with.
const ERROR_CODES: [(&str, &str, &str); 15] = [
    (
        "invalid_request",
        "400, or on the redirect",
        "A parameter is missing, repeated or malformed, the body is not form-encoded, or the \
         client authenticated two ways at once. Read error_description and fix the request.",
    ),
    (
        "invalid_client",
        "401",
        "Client authentication failed: unknown client, wrong secret, the wrong method, or a \
         client not yet approved or disabled. With HTTP Basic the answer carries \
         WWW-Authenticate: Basic. Check the id, the secret (an old one stops after its \
         overlap) and the method you registered.",
    ),
    (
        "invalid_grant",
        "400",
        "The code or refresh token is invalid, expired, spent, revoked or another client's, \
         the code_verifier or redirect_uri does not match, or the user can no longer sign in. \
         Start a new authorization; never retry with the same code or refresh token.",
    ),
    (
        "unauthorized_client",
        "400",
        "The client is not registered for this grant type (at the authorization endpoint: for \
         authorization_code). Use a client approved for the grant, or request one.",
    ),
    (
        "unsupported_grant_type",
        "400",
        "grant_type is not authorization_code, refresh_token or client_credentials.",
    ),
    (
        "invalid_scope",
        "400, or on the redirect",
        "scope is missing, names an unknown scope or one your client was not approved for, \
         asks for a scope that needs an end user without one, or widens a refresh. Send the \
         scopes you need from the catalogue.",
    ),
    (
        "access_denied",
        "on the redirect",
        "The user declined. Tell them what they turned down; do not send them straight back.",
    ),
    ("unsupported_response_type", "on the redirect", "Only response_type=code is supported."),
    (
        "login_required",
        "on the redirect",
        "prompt=none, but the user is not signed in. Send them again without prompt=none.",
    ),
    (
        "consent_required",
        "on the redirect",
        "prompt=none, but the user has not consented to these scopes. Send them again without \
         prompt=none.",
    ),
    (
        "request_not_supported",
        "on the redirect",
        "Request objects are not supported: send the parameters directly (request_uri is \
         refused the same way, as request_uri_not_supported).",
    ),
    (
        "invalid_token",
        "401 (userinfo)",
        "In WWW-Authenticate: Bearer. The access token is expired, revoked or malformed: \
         refresh it or sign the user in again.",
    ),
    (
        "insufficient_scope",
        "403 (userinfo)",
        "The access token lacks the openid scope that userinfo needs.",
    ),
    (
        "server_error",
        "500",
        "Something failed unexpectedly; the details stay in the server's log. Retry later and \
         report it if it persists.",
    ),
    (
        "temporarily_unavailable",
        "503, or 429",
        "503: storage or the rate limiter cannot be reached and nothing was issued or changed; \
         retry with exponential backoff and jitter. 429: you are being throttled; wait for \
         Retry-After.",
    ),
];

/// The API-key verification reasons and how a gateway is told to answer each (docs/api-keys.md).
const KEY_OUTCOMES: [(&str, &str, &str); 9] = [
    ("not_found", "401", "The key is not one Portcullis issued. Check it is sent byte for byte."),
    ("revoked", "401", "Revoked for good; use its successor or request a new key."),
    ("expired", "401", "Past its expiry; request a new key."),
    ("disabled", "401", "The key or its client is disabled; ask the administrator why."),
    ("pending_approval", "401", "Not approved yet; watch your notifications."),
    ("insufficient_scope", "403", "The call needs a scope the key does not hold."),
    ("ip_not_allowed", "403", "Your address is outside the key's allowlist."),
    ("rate_limited", "429", "Over the key's limit; wait for Retry-After (see Rate limits)."),
    (
        "too_many_invalid_keys",
        "429",
        "Your address sent too many unknown keys in the last minute and is blocked for a while, \
         whatever key it sends. Fix the key before retrying.",
    ),
];

fn rate_limits(issuer: &str) -> AnyView {
    let backoff = fill(examples::BACKOFF_JS, issuer);
    view! {
        <Section title="API-key limits">
            <p class=PARA>
                "A key limited to R requests per minute is served one request every 60/R "
                "seconds on average; a burst of B lets B more arrive at once after a quiet "
                "spell. In any 60 seconds at most R + B pass, with no window edge at which the "
                "limit doubles. A key without a burst cannot make two requests closer together "
                "than 60/R seconds: ask for a burst that matches your concurrency. Calls refused "
                "for scope or address do not count."
            </p>
            <p class=PARA>
                "Each verification that consults the limit answers with these headers, which "
                "the gateway is expected to pass on to you:"
            </p>
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="ratelimit-headers">
                    <thead>
                        <tr>
                            <th class=TH scope="col">"Header"</th>
                            <th class=TH scope="col">"Meaning"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <tr>
                            <td class=TD><code class=CODE>"RateLimit-Limit"</code></td>
                            <td class=TD>"The key's requests per minute."</td>
                        </tr>
                        <tr>
                            <td class=TD><code class=CODE>"RateLimit-Remaining"</code></td>
                            <td class=TD>"How many more requests would pass right now."</td>
                        </tr>
                        <tr>
                            <td class=TD><code class=CODE>"RateLimit-Reset"</code></td>
                            <td class=TD>"Seconds until the full allowance is back."</td>
                        </tr>
                        <tr>
                            <td class=TD><code class=CODE>"Retry-After"</code></td>
                            <td class=TD>
                                "Only when limited (429): seconds until the next request passes."
                            </td>
                        </tr>
                    </tbody>
                </table>
            </div>
            <p class=PARA>
                "When limited, wait for " <code class=CODE>"Retry-After"</code>
                " instead of retrying at once: refused requests do not shorten the wait. An "
                "address that presents many unknown keys in a minute is blocked for a while ("
                <code class=CODE>"too_many_invalid_keys"</code> ", with Retry-After) whatever "
                "key it sends."
            </p>
        </Section>
        <Section title="Throttles at the token endpoint">
            <ul class=LIST>
                <li>
                    "Failed client authentications are counted per client_id and source address. "
                    "Past the limit (20 a minute unless the operator changed it) that pair gets "
                    "429 " <code class=CODE>"temporarily_unavailable"</code>
                    " with Retry-After, before the secret is even checked. The same client from "
                    "another address is not affected, and a success takes its attempt back."
                </li>
                <li>
                    "Introspection counts the inactive answers each caller receives; many in a "
                    "minute look like scanning, and past the limit the caller gets 429."
                </li>
            </ul>
        </Section>
        <Section title="Backing off">
            <p class=PARA>
                "A 503 " <code class=CODE>"temporarily_unavailable"</code>
                " means the server could not answer safely and did nothing. Retry with "
                "exponential backoff and random jitter, so that many clients do not return in "
                "step; on a 429, wait the Retry-After seconds."
            </p>
            <Example label="JavaScript" code=backoff/>
        </Section>
    }
    .into_any()
}

/// The code examples, as templates with `{issuer}` where the issuer goes.
mod examples {
    pub const FIRST_TOKEN: &str = r#"curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \
    -d grant_type=client_credentials --data-urlencode "scope=quote:read" \
    {issuer}/oauth2/token
# {"access_token":"eyJ…","token_type":"Bearer","expires_in":600,"scope":"quote:read"}

# Ask the server what it thinks of the token:
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode "token=$ACCESS_TOKEN" \
    {issuer}/oauth2/introspect"#;

    pub const CODE_CURL: &str = r#"# 1. A PKCE pair: a random verifier and its S256 challenge
verifier=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | openssl base64 -A \
    | tr '+/' '-_' | tr -d '=')
state=$(openssl rand -hex 16)
nonce=$(openssl rand -hex 16)

# 2. Send the browser here (redirect_uri is one you registered, percent-encoded)
echo "{issuer}/oauth2/authorize?response_type=code&client_id=$CLIENT_ID\
&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&scope=openid%20email\
&state=$state&nonce=$nonce&code_challenge=$challenge&code_challenge_method=S256"

# 3. The browser comes back to
#    https://app.example.com/callback?code=pcac_…&state=…&iss=…
#    Check state and iss, then exchange the code at once:
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \
    -d grant_type=authorization_code \
    --data-urlencode "code=$CODE" \
    --data-urlencode "redirect_uri=https://app.example.com/callback" \
    --data-urlencode "code_verifier=$verifier" \
    {issuer}/oauth2/token
# {"access_token":"eyJ…","token_type":"Bearer","expires_in":600,"scope":"email openid",
#  "refresh_token":"pcrt_…","id_token":"eyJ…"}
# A public client sends -d "client_id=$CLIENT_ID" instead of -u."#;

    pub const CODE_JS: &str = r#"import * as client from 'openid-client';

// Reads {issuer}/.well-known/openid-configuration and checks its issuer.
const config = await client.discovery(
  new URL('{issuer}'),
  process.env.CLIENT_ID,
  { id_token_signed_response_alg: 'ES256' }, // the algorithm your client registered
  client.ClientSecretBasic(process.env.CLIENT_SECRET), // or ClientSecretPost, as registered
);
const redirect_uri = 'https://app.example.com/callback';

// Starting sign-in: keep the verifier, state and nonce in the user's server-side session.
const code_verifier = client.randomPKCECodeVerifier();
const code_challenge = await client.calculatePKCECodeChallenge(code_verifier);
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri,
  scope: 'openid email',
  code_challenge,
  code_challenge_method: 'S256',
  state,
  nonce,
});
// Redirect the browser to url.href.

// The callback. callbackUrl is the URL the browser came back to, on the registered origin:
// the library sends its path as redirect_uri, and checks state and iss before the exchange.
const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
  pkceCodeVerifier: code_verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
console.log(tokens.claims().sub, tokens.scope, tokens.expires_in);"#;

    pub const CODE_PYTHON: &str = r#"import secrets
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

ISSUER = "{issuer}"
meta = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()

def session(**extra):
    return OAuth2Session(
        CLIENT_ID, CLIENT_SECRET,
        token_endpoint_auth_method="client_secret_basic",  # as registered
        scope="openid email",
        redirect_uri="https://app.example.com/callback",
        code_challenge_method="S256",
        **extra,
    )

# Starting sign-in: keep verifier, state and nonce in the user's server-side session.
verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(24)
url, state = session().create_authorization_url(
    meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

# The callback, with the full URL the browser came back to. Authlib checks state.
if parse_qs(urlsplit(callback_url).query).get("iss") != [ISSUER]:
    raise ValueError("authorization response from another issuer")
token = session(state=state).fetch_token(
    meta["token_endpoint"], authorization_response=callback_url, code_verifier=verifier)

keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    token["id_token"], keys, claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": ISSUER}},
    claims_params={"nonce": nonce, "client_id": CLIENT_ID},
)
claims.validate()  # exp, iat, aud, nonce"#;

    pub const CODE_RUST: &str = r#"use oauth2::basic::BasicClient;
use oauth2::{
    reqwest, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse, TokenUrl,
};

let client = BasicClient::new(ClientId::new(client_id))
    .set_client_secret(ClientSecret::new(client_secret)) // HTTP Basic unless told otherwise
    .set_auth_uri(AuthUrl::new("{issuer}/oauth2/authorize".to_owned())?)
    .set_token_uri(TokenUrl::new("{issuer}/oauth2/token".to_owned())?)
    .set_redirect_uri(RedirectUrl::new("https://app.example.com/callback".to_owned())?);

// Starting sign-in: keep the verifier, state and nonce in the user's server-side session.
let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
let nonce = CsrfToken::new_random(); // any unguessable value
let (url, state) = client
    .authorize_url(CsrfToken::new_random)
    .add_scope(Scope::new("openid".to_owned()))
    .add_scope(Scope::new("email".to_owned()))
    .add_extra_param("nonce", nonce.secret())
    .set_pkce_challenge(challenge)
    .url();

// The callback: compare its state with `state` and its iss with the issuer, then
let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
let token = client
    .exchange_code(AuthorizationCode::new(code))
    .set_pkce_verifier(verifier)
    .request_async(&http)
    .await?;
println!("{} {:?}", token.access_token().secret(), token.expires_in());"#;

    pub const CC_CURL: &str = r#"# client_secret_basic: the id and secret in HTTP Basic
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \
    -d grant_type=client_credentials --data-urlencode "scope=quote:read quote:write" \
    {issuer}/oauth2/token

# client_secret_post: the same two values as form fields instead
curl -s -d grant_type=client_credentials --data-urlencode "scope=quote:read" \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET" \
    {issuer}/oauth2/token
# {"access_token":"eyJ…","token_type":"Bearer","expires_in":600,"scope":"quote:read"}"#;

    pub const CC_JS: &str = r#"import * as client from 'openid-client';

const config = await client.discovery(
  new URL('{issuer}'),
  process.env.CLIENT_ID,
  undefined,
  client.ClientSecretBasic(process.env.CLIENT_SECRET), // or ClientSecretPost, as registered
);

const tokens = await client.clientCredentialsGrant(config, { scope: 'quote:read' });
console.log(tokens.access_token, tokens.scope, tokens.expires_in);"#;

    pub const CC_PYTHON: &str = r#"import requests
from authlib.integrations.requests_client import OAuth2Session

TOKEN_URL = "{issuer}/oauth2/token"

# Authlib sends the session's scope with the request.
oauth = OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope="quote:read",
                      token_endpoint_auth_method="client_secret_basic")  # as registered
token = oauth.fetch_token(TOKEN_URL, grant_type="client_credentials")

# Or plain requests, with HTTP Basic:
reply = requests.post(TOKEN_URL, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10,
                      data={"grant_type": "client_credentials", "scope": "quote:read"})
reply.raise_for_status()
token = reply.json()"#;

    pub const CC_RUST: &str = r#"use oauth2::basic::BasicClient;
use oauth2::{reqwest, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};

// oauth2 sends the secret with HTTP Basic (client_secret_basic). A client registered with
// client_secret_post adds `.set_auth_type(oauth2::AuthType::RequestBody)` here, and only then.
let client = BasicClient::new(ClientId::new(client_id))
    .set_client_secret(ClientSecret::new(client_secret))
    .set_token_uri(TokenUrl::new("{issuer}/oauth2/token".to_owned())?);

let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
let token = client
    .exchange_client_credentials()
    .add_scope(Scope::new("quote:read".to_owned()))
    .request_async(&http)
    .await?;
println!("{} {:?}", token.access_token().secret(), token.expires_in());"#;

    pub const RT_CURL: &str = r#"curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \
    -d grant_type=refresh_token --data-urlencode "refresh_token=$REFRESH_TOKEN" \
    {issuer}/oauth2/token
# {"access_token":"eyJ…","token_type":"Bearer","expires_in":600,"scope":"email openid",
#  "refresh_token":"pcrt_…","id_token":"eyJ…"}
# Store the new refresh_token first: the one you sent is now spent.

# Narrower: part of the original grant
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=refresh_token -d scope=openid \
    --data-urlencode "refresh_token=$REFRESH_TOKEN" {issuer}/oauth2/token

# A public client sends its client_id instead of authenticating
curl -s -d grant_type=refresh_token -d "client_id=$CLIENT_ID" \
    --data-urlencode "refresh_token=$REFRESH_TOKEN" {issuer}/oauth2/token"#;

    pub const RT_JS: &str = r#"import * as client from 'openid-client';

// config: from client.discovery(new URL('{issuer}'), ...), as in the other guides.
const next = await client.refreshTokenGrant(config, stored.refresh_token);
// Save the successor before anything else: the token just sent no longer works.
await saveTokens(userId, next.refresh_token, next.access_token, next.expires_in);

// To narrow: client.refreshTokenGrant(config, refreshToken, { scope: 'openid' })"#;

    pub const RT_PYTHON: &str = r#"from authlib.integrations.requests_client import OAuth2Session

# No scope on this session: Authlib would send it with the refresh, narrowing the grant.
oauth = OAuth2Session(CLIENT_ID, CLIENT_SECRET,
                      token_endpoint_auth_method="client_secret_basic")  # as registered
new = oauth.refresh_token("{issuer}/oauth2/token", refresh_token=stored["refresh_token"])
# Save new["refresh_token"] before using the access token: the old one is spent.
save_tokens(user_id, new)

# To narrow: oauth.refresh_token(url, refresh_token=..., scope="openid")"#;

    pub const RT_RUST: &str = r#"use oauth2::basic::BasicClient;
use oauth2::{reqwest, ClientId, ClientSecret, RefreshToken, TokenResponse, TokenUrl};

let client = BasicClient::new(ClientId::new(client_id))
    .set_client_secret(ClientSecret::new(client_secret))
    .set_token_uri(TokenUrl::new("{issuer}/oauth2/token".to_owned())?);
let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;

let response = client
    .exchange_refresh_token(&RefreshToken::new(stored_refresh_token))
    // .add_scope(Scope::new("openid".to_owned())) to narrow
    .request_async(&http)
    .await?;
// Portcullis rotates on every refresh: save the successor before using the access token.
if let Some(next) = response.refresh_token() {
    save_refresh_token(next.secret()).await?;
}"#;

    pub const VERIFY_JS: &str = r#"import { createRemoteJWKSet, jwtVerify } from 'jose';

// Fetched on first use, cached, and fetched again when a token names an unknown kid.
const jwks = createRemoteJWKSet(new URL('{issuer}/oauth2/jwks'));

export async function verifyAccessToken(token, neededScope) {
  const { payload } = await jwtVerify(token, jwks, {
    typ: 'at+jwt', // never accept an ID token as an access token
    issuer: '{issuer}',
    audience: 'https://api.example.com', // the platform API's identifier
    algorithms: ['ES256'], // the alg of the keys in the JWKS
  });
  if (!payload.scope.split(' ').includes(neededScope)) throw new Error('insufficient_scope');
  return payload; // sub, client_id, scope, jti, iat, exp
}"#;

    pub const INTROSPECT_CURL: &str = r#"curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \
    --data-urlencode "token=$ACCESS_TOKEN" {issuer}/oauth2/introspect
# {"active":true,"scope":"quote:read","client_id":"…","sub":"client:…","aud":"…",
#  "iss":"{issuer}","exp":1767225600,"iat":1767225000,"jti":"…","token_type":"Bearer"}
# {"active":false}   expired, revoked, another client's, a refresh token, or garbage"#;

    pub const REVOKE_CURL: &str = r#"curl -s -o /dev/null -w '%{http_code}\n' \
    -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode "token=$TOKEN" {issuer}/oauth2/revoke
# 200, whether or not the token was live"#;

    pub const KEY_CALL: &str = r#"curl -s -H "Authorization: Bearer $API_KEY" \
    https://api.example.com/v1/quotes
# 401: unknown, revoked, expired, disabled or pending   403: scope or address
# 429: rate limited (see Retry-After)"#;

    pub const KEY_VERIFY: &str = r#"curl -s -u "$GATEWAY_ID:$GATEWAY_SECRET" \
    -H 'Content-Type: application/json' \
    -d '{"key":"pcak_…","scope":"quote:read","ip":"198.51.100.7"}' \
    {issuer}/api-keys/verify
# Every decision is a 200; the body says which:
# {"valid":true,"key_id":"…","client_id":"…","scopes":["quote:read"],"expires_at":null,
#  "limit":600,"remaining":19,"reset":2}
# {"valid":false,"reason":"rate_limited","limit":600,"remaining":0,"reset":3}
# {"valid":false,"reason":"not_found"}"#;

    pub const KEY_CALL_JS: &str = r#"const url = 'https://api.example.com/v1/quotes';
const reply = await fetch(url, {
  headers: { Authorization: `Bearer ${process.env.API_KEY}` },
});
if (reply.status === 429) {
  // Wait Retry-After seconds before the next call (see Rate limits).
}
const quotes = await reply.json();"#;

    pub const KEY_CALL_PYTHON: &str = r#"import os
import requests

reply = requests.get("https://api.example.com/v1/quotes", timeout=10,
                     headers={"Authorization": f"Bearer {os.environ['API_KEY']}"})
if reply.status_code == 429:
    pass  # wait Retry-After seconds before the next call (see Rate limits)
reply.raise_for_status()
quotes = reply.json()"#;

    pub const KEY_CALL_RUST: &str = r#"let api_key = std::env::var("API_KEY")?;
let http = reqwest::Client::new();
let reply = http
    .get("https://api.example.com/v1/quotes")
    .bearer_auth(&api_key)
    .send()
    .await?;
if reply.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
    // Wait Retry-After seconds before the next call (see Rate limits).
}
let quotes: serde_json::Value = reply.error_for_status()?.json().await?;"#;

    pub const KEY_VERIFY_JS: &str = r#"const pair = `${GATEWAY_ID}:${GATEWAY_SECRET}`;
const basic = Buffer.from(pair).toString('base64');
const reply = await fetch('{issuer}/api-keys/verify', {
  method: 'POST',
  headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ key: presentedKey, scope: 'quote:read', ip: callerAddress }),
});
if (!reply.ok) throw new Error(`verification unavailable: ${reply.status}`); // fail closed
const decision = await reply.json();
if (!decision.valid) {
  // not_found, revoked, expired, disabled, pending: 401; scope or ip: 403; rate_limited: 429
}"#;

    pub const KEY_VERIFY_PYTHON: &str = r#"import requests

reply = requests.post("{issuer}/api-keys/verify", timeout=5,
                      auth=(GATEWAY_ID, GATEWAY_SECRET),
                      json={"key": presented_key, "scope": "quote:read", "ip": caller_address})
reply.raise_for_status()  # a 503 means "unknown": refuse the call, never let it through
decision = reply.json()
if not decision["valid"]:
    reason = decision["reason"]  # not_found, revoked, expired, rate_limited, ..."#;

    pub const KEY_VERIFY_RUST: &str = r#"use serde_json::json;

let http = reqwest::Client::new();
let decision: serde_json::Value = http
    .post("{issuer}/api-keys/verify")
    .basic_auth(&gateway_id, Some(&gateway_secret))
    .json(&json!({ "key": presented_key, "scope": "quote:read", "ip": caller_address }))
    .send()
    .await?
    .error_for_status()? // a 503 means "unknown": refuse the call, never let it through
    .json()
    .await?;
if decision["valid"] != true {
    let reason = decision["reason"].as_str().unwrap_or("unknown");
}"#;

    pub const KEY_USAGE: &str = r#"curl -s -u "$CLIENT_ID:$CLIENT_SECRET" \
    "{issuer}/api-keys/$KEY_ID/usage?from=2026-12-01&to=2026-12-07"
# {"key_id":"…","from":"2026-12-01","to":"2026-12-07",
#  "days":[{"date":"2026-12-07","outcomes":{"valid":812,"rate_limited":3},
#           "sources":[{"ip":"198.51.100.7","count":815}]}]}"#;

    pub const BACKOFF_JS: &str = r#"async function withRetry(send, attempts = 6) {
  // 429: wait for Retry-After. 503: capped exponential backoff with full jitter.
  for (let attempt = 1; ; attempt++) {
    const response = await send();
    if (![429, 503].includes(response.status) || attempt === attempts) return response;
    const retryAfter = Number(response.headers.get('Retry-After'));
    const seconds = retryAfter > 0 ? retryAfter : Math.random() * Math.min(30, 2 ** attempt);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

const reply = await withRetry(() =>
  fetch('{issuer}/oauth2/token', { method: 'POST', headers, body: form }));"#;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_a_title_and_unknown_slugs_none() {
        for (slug, title) in DOCS {
            assert_eq!(docs_title(slug), Some(title));
        }
        assert_eq!(docs_title("nope"), None);
        assert_eq!(docs_title(""), None);
    }

    #[test]
    fn home_is_served_at_the_portal_root() {
        assert_eq!(href("home"), "/developers");
        assert_eq!(href("scopes"), "/developers/docs/scopes");
    }

    #[cfg(feature = "ssr")]
    fn render(slug: &str, partner: Option<&str>) -> String {
        let context = DocsContext {
            issuer: "https://auth.example.com".into(),
            partner: partner.map(str::to_owned),
            csrf: "csrf-token".into(),
        };
        let scopes = vec![ScopeDoc {
            name: "quote:write".into(),
            description: "Create <quotes>".into(),
            category: String::new(),
            includes: vec!["quote:read".into()],
            requires_user: false,
        }];
        let endpoints = vec![EndpointDoc {
            name: "token_endpoint".into(),
            url: "https://auth.example.com/oauth2/token".into(),
        }];
        let grant_types = vec!["client_credentials".to_owned()];
        let page = view! {
            <DocsPage context slug=slug.to_owned() scopes endpoints grant_types/>
        };
        page.to_html()
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn every_flow_guide_shows_curl_javascript_python_and_rust() {
        for slug in ["authorization-code", "client-credentials", "refresh-tokens", "api-keys"] {
            let html = render(slug, None);
            for language in ["curl", "JavaScript: ", "Python: ", "Rust: "] {
                assert!(html.contains(language), "{slug}: no {language} example");
            }
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn every_page_renders_without_script_and_with_the_issuer() {
        for (slug, _) in DOCS {
            let html = render(slug, None);
            assert!(html.contains(&format!("data-testid=\"docs-{slug}\"")), "{slug}");
            let current = format!("href=\"{}\" aria-current=\"page\"", href(slug));
            assert!(html.contains(&current), "{slug}: current entry not marked");
            assert_eq!(html.matches("aria-current").count(), 1, "{slug}");
            assert!(!html.contains("{issuer}") && !html.contains("<script"), "{slug}");
            assert!(!html.contains(" style="), "{slug}: the CSP forbids inline styles");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn account_links_follow_the_session_and_text_is_escaped() {
        let signed_out = render("scopes", None);
        assert!(signed_out.contains("/developers/signup") && !signed_out.contains("Sign out"));
        assert!(signed_out.contains("Create &lt;quotes&gt;"));

        let signed_in = render("home", Some("dev@partner.example"));
        assert!(signed_in.contains("action=\"/developers/logout\""));
        assert!(signed_in.contains("value=\"csrf-token\""));
        assert!(signed_in.contains("/developers/console"));
    }

    #[test]
    fn examples_carry_the_issuer_and_no_marker_is_left() {
        let filled = fill(examples::CODE_JS, "https://auth.example.com");
        assert!(filled.contains("new URL('https://auth.example.com')"));
        assert!(!filled.contains("{issuer}"));
    }
}
