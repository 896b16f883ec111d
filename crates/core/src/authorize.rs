//! The authorization endpoint's request rules (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1,
//! OAuth 2.1 §4.1.1) and the redirects it answers with (RFC 6749 §4.1.2, RFC 9207).
//!
//! Validation order never redirects to an untrusted place: while the client or the redirect URI
//! is in doubt (unknown, pending or disabled client; a redirect_uri that is missing, repeated or
//! not registered) the answer is an error page. Only after both are established do errors go
//! back to the client, with the original `state` and our `iss`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::client::{Client, ClientStatus, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::CodeChallenge;
use crate::scope::{GrantSubject, ScopeRegistry, ScopeSet};

/// Longest `state` echoed back; longer ones are refused rather than truncated (SECURITY.md A-28).
pub const MAX_STATE_LEN: usize = 2048;
/// Longest `nonce` accepted.
pub const MAX_NONCE_LEN: usize = 512;

/// The request's parameters, with repeated names remembered (RFC 6749 §3.1: parameters must not
/// be included more than once).
#[derive(Debug, Default, Clone)]
pub struct AuthorizeParams {
    values: BTreeMap<String, String>,
    repeated: BTreeSet<String>,
}

impl AuthorizeParams {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut params = Self::default();
        for (name, value) in pairs {
            match params.values.entry(name) {
                std::collections::btree_map::Entry::Occupied(seen) => {
                    params.repeated.insert(seen.key().clone());
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
            }
        }
        params
    }

    /// A parameter's value; empty counts as absent (SECURITY.md A-26).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn is_repeated(&self, name: &str) -> bool {
        self.repeated.contains(name)
    }
}

/// OpenID Connect `prompt` values (Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no page may be shown; fail with login_required / consent_required instead.
    pub none: bool,
    /// `login`: authenticate again even with a session.
    pub login: bool,
    /// `consent`: ask again even if consent is remembered.
    pub consent: bool,
}

/// A request that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// As sent, which for loopback URIs may differ from the registration in the port.
    pub redirect_uri: String,
    /// Granted scopes, already expanded by the registry.
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: CodeChallenge,
    pub prompt: Prompt,
    /// Seconds: the user must have authenticated at most this long ago.
    pub max_age: Option<u64>,
}

/// Why the request was refused, and where the answer may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRejection {
    /// The client or the redirect URI cannot be trusted: show an error page, never redirect.
    ErrorPage(Cow<'static, str>),
    /// Send the error to the client's registered redirect URI.
    Redirect(AuthorizationRedirect),
}

/// Validates an authorization request against the (live) client and the scope registry.
pub fn validate(
    params: &AuthorizeParams,
    client: Option<&Client>,
    registry: &ScopeRegistry,
    issuer: &str,
) -> Result<AuthorizationRequest, AuthorizeRejection> {
    let page = |text: &'static str| AuthorizeRejection::ErrorPage(Cow::Borrowed(text));
    if params.is_repeated("client_id") || params.is_repeated("redirect_uri") {
        return Err(page("client_id and redirect_uri may each be sent only once"));
    }
    let client_id = params.get("client_id").ok_or_else(|| page("the request has no client_id"))?;
    let client = client
        .filter(|c| c.id.as_str() == client_id && c.status == ClientStatus::Active)
        .ok_or_else(|| page("this application is unknown or not approved"))?;
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
        page("the request has no redirect_uri: the application must name one it registered")
    })?;
    if !client.redirect_uris.iter().any(|r| r.matches(redirect_uri)) {
        return Err(page("the redirect_uri is not one this application registered"));
    }

    // From here on errors go back to the client. A repeated state is not echoed: which one
    // would be the client's?
    let state = params.get("state").filter(|_| !params.is_repeated("state"));
    let state = state.filter(|s| s.len() <= MAX_STATE_LEN);
    let redirect = |error: OAuthError| {
        AuthorizeRejection::Redirect(AuthorizationRedirect::error(
            redirect_uri,
            &error,
            state,
            issuer,
        ))
    };
    let invalid = |text: &'static str| redirect(OAuthError::invalid_request(text));

    if let Some(name) = params.repeated.iter().next() {
        return Err(redirect(OAuthError::invalid_request(format!(
            "the parameter {name} was sent more than once"
        ))));
    }
    if params.get("state").is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(invalid("state is longer than 2048 characters"));
    }
    if params.get("request").is_some() {
        return Err(redirect(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported: send the parameters directly",
        )));
    }
    if params.get("request_uri").is_some() {
        return Err(redirect(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported: send the parameters directly",
        )));
    }
    match params.get("response_type") {
        None => return Err(invalid("response_type is required and must be code")),
        Some("code") => {}
        Some(_) => {
            return Err(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported (OAuth 2.1: no implicit or hybrid flows)",
            )))
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(invalid("only response_mode=query is supported"));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(redirect(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for the authorization_code grant",
        )));
    }

    let code_challenge = CodeChallenge::from_request(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|e| redirect(OAuthError::invalid_request(e.to_string())))?;
    let requested =
        ScopeSet::parse_request(params.get("scope").unwrap_or_default()).map_err(&redirect)?;
    let scopes = registry
        .grant(&requested, &client.allowed_scopes, GrantSubject::EndUser)
        .map_err(&redirect)?;

    let nonce = params.get("nonce");
    if nonce.is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(invalid("nonce is longer than 512 characters"));
    }
    let prompt = parse_prompt(params.get("prompt")).map_err(redirect)?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) && text.len() <= 10 => {
            text.parse().ok()
        }
        Some(_) => return Err(invalid("max_age must be a number of seconds")),
    };

    Ok(AuthorizationRequest {
        client_id: client.id.to_string(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: state.map(str::to_owned),
        nonce: nonce.map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
    })
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for token in value.unwrap_or_default().split(' ').filter(|t| !t.is_empty()) {
        match token {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // Portcullis has one account per session; choosing is logging in again.
            "select_account" => prompt.login = true,
            _ => return Err(OAuthError::invalid_request("prompt may hold none, login, consent")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// A redirect back to the client: the registered URI (as sent) with response parameters added
/// to its query, never to a fragment, and never a token (SECURITY.md A-32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRedirect {
    redirect_uri: String,
    params: Vec<(&'static str, String)>,
}

impl AuthorizationRedirect {
    /// `code`, `state` (if the request had one) and `iss` (RFC 9207).
    pub fn success(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> Self {
        let mut params = vec![("code", code.to_owned())];
        params.extend(state.map(|s| ("state", s.to_owned())));
        params.push(("iss", issuer.to_owned()));
        Self { redirect_uri: redirect_uri.to_owned(), params }
    }

    /// `error`, `error_description`, `state` and `iss`.
    pub fn error(
        redirect_uri: &str,
        error: &OAuthError,
        state: Option<&str>,
        issuer: &str,
    ) -> Self {
        let mut params = vec![
            ("error", error.code.as_str().to_owned()),
            ("error_description", error.description.to_string()),
        ];
        params.extend(state.map(|s| ("state", s.to_owned())));
        params.push(("iss", issuer.to_owned()));
        Self { redirect_uri: redirect_uri.to_owned(), params }
    }

    /// The `Location` value.
    pub fn location(&self) -> String {
        let mut location = self.redirect_uri.clone();
        let mut separator = if location.contains('?') { '&' } else { '?' };
        for (name, value) in &self.params {
            location.push(separator);
            location.push_str(name);
            location.push('=');
            location.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
            separator = '&';
        }
        location
    }

    pub fn error_code(&self) -> Option<&str> {
        self.params.iter().find(|(n, _)| *n == "error").map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{
        parse_wire_list, ClientId, ClientRegistration, ClientType, TokenAuthMethod,
    };
    use crate::scope::{ScopeDefinition, ScopeName};

    const ISS: &str = "https://as.example";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn registry() -> ScopeRegistry {
        let api = ScopeDefinition {
            name: ScopeName::parse("api.read").unwrap(),
            description: "read".into(),
            category: None,
            requires_user: false,
            includes: ScopeSet::default(),
            built_in: false,
            public: false,
        };
        ScopeRegistry::new(ScopeDefinition::built_ins().into_iter().chain([api])).unwrap()
    }

    fn client(uris: &[&str]) -> Client {
        ClientRegistration {
            name: "C1".into(),
            client_type: ClientType::Confidential,
            grant_types: parse_wire_list("authorization_code refresh_token").unwrap(),
            allowed_scopes: ScopeSet::parse_list("openid profile email api.read").unwrap(),
            redirect_uris: uris.iter().map(|u| u.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            id_token_signing_alg: Some(crate::keys::SigningAlgorithm::ES256),
            auth_method: TokenAuthMethod::ClientSecretBasic,
            access_token_lifetime: 600,
            refresh_token_lifetime: 3600,
            lifetime_policy: None,
        }
        .validate(&registry(), 3600)
        .unwrap()
        .into_client(ClientId::parse("c1").unwrap(), ClientStatus::Active, None, 0)
    }

    fn params(extra: &[(&str, &str)], without: &[&str]) -> AuthorizeParams {
        let base = [
            ("response_type", "code"),
            ("client_id", "c1"),
            ("redirect_uri", "https://c1.example/cb"),
            ("scope", "openid"),
            ("state", "s1"),
            ("nonce", "n1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        let mut pairs: Vec<(String, String)> = base
            .iter()
            .filter(|(k, _)| !without.contains(k) && !extra.iter().any(|(e, _)| e == k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        AuthorizeParams::from_pairs(pairs)
    }

    fn run(
        params: &AuthorizeParams,
        client: &Client,
    ) -> Result<AuthorizationRequest, AuthorizeRejection> {
        validate(params, Some(client), &registry(), ISS)
    }

    fn redirected_error(result: Result<AuthorizationRequest, AuthorizeRejection>) -> String {
        match result {
            Err(AuthorizeRejection::Redirect(r)) => {
                let location = r.location();
                assert!(location.starts_with("https://c1.example/cb?error="), "{location}");
                assert!(location.ends_with("&iss=https%3A%2F%2Fas.example"), "{location}");
                r.error_code().unwrap().to_owned()
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    fn is_error_page(result: Result<AuthorizationRequest, AuthorizeRejection>) -> bool {
        matches!(result, Err(AuthorizeRejection::ErrorPage(_)))
    }

    #[test]
    fn a_complete_request_validates() {
        let c1 = client(&["https://c1.example/cb"]);
        let request = run(&params(&[], &[]), &c1).unwrap();
        assert_eq!(request.scopes.to_wire(), "openid");
        assert_eq!((request.state.as_deref(), request.nonce.as_deref()), (Some("s1"), Some("n1")));
    }

    #[test]
    fn a01_a14_untrusted_redirect_uris_get_an_error_page() {
        let c1 = client(&["https://c1.example/cb", "https://c1.example/other"]);
        for bad in [
            "https://evil.example/cb",
            "https://c1.example/cb?x=1",
            "https://c1.example/CB",
            "https://c1.example/cb/",
            "https://c1.example:443/cb",
            "https://c1.example/cb/../evil",
            "https://c1.example@evil.example/cb",
            "javascript:alert(1)//",
            "//evil.example/cb",
            "https://c1.example/cb#x",
        ] {
            assert!(is_error_page(run(&params(&[("redirect_uri", bad)], &[]), &c1)), "{bad}");
        }
        assert!(is_error_page(run(&params(&[], &["redirect_uri"]), &c1)), "A-04: never assumed");
        let one = client(&["https://c1.example/cb"]);
        assert!(is_error_page(run(&params(&[], &["redirect_uri"]), &one)), "not even with one");
    }

    #[test]
    fn a02_a03_a35_unknown_or_inactive_clients_get_an_error_page() {
        let c1 = client(&["https://c1.example/cb"]);
        let bogus = params(&[("client_id", "nope"), ("response_type", "bogus")], &[]);
        assert!(is_error_page(run(&bogus, &c1)));
        assert!(is_error_page(validate(&params(&[], &[]), None, &registry(), ISS)));
        assert!(is_error_page(run(&params(&[], &["client_id"]), &c1)));
        for status in [ClientStatus::Pending, ClientStatus::Disabled] {
            let inactive = Client { status, ..c1.clone() };
            assert!(is_error_page(run(&params(&[], &[]), &inactive)), "{status}");
        }
    }

    #[test]
    fn a17_loopback_ports_may_differ() {
        let p1 = client(&["http://127.0.0.1/cb"]);
        let ok = params(&[("redirect_uri", "http://127.0.0.1:53011/cb")], &[]);
        assert_eq!(run(&ok, &p1).unwrap().redirect_uri, "http://127.0.0.1:53011/cb");
        for bad in
            ["http://127.0.0.1:53011/other", "http://[::1]:53011/cb", "http://localhost:53011/cb"]
        {
            assert!(is_error_page(run(&params(&[("redirect_uri", bad)], &[]), &p1)), "{bad}");
        }
    }

    #[test]
    fn a19_a20_only_the_code_response_type() {
        let c1 = client(&["https://c1.example/cb"]);
        for bad in ["token", "id_token", "code id_token", "code token", "foo"] {
            let result = run(&params(&[("response_type", bad)], &[]), &c1);
            assert_eq!(redirected_error(result), "unsupported_response_type", "{bad}");
        }
        let missing = run(&params(&[], &["response_type"]), &c1);
        assert_eq!(redirected_error(missing), "invalid_request");
    }

    #[test]
    fn a23_a24_scopes_are_required_and_bounded() {
        let c1 = client(&["https://c1.example/cb"]);
        let outside = run(&params(&[("scope", "openid admin:all")], &[]), &c1);
        assert_eq!(redirected_error(outside), "invalid_scope");
        assert_eq!(redirected_error(run(&params(&[], &["scope"]), &c1)), "invalid_scope");
        let reordered = run(&params(&[("scope", "email openid")], &[]), &c1).unwrap();
        let ordered = run(&params(&[("scope", "openid email")], &[]), &c1).unwrap();
        assert_eq!(reordered.scopes, ordered.scopes, "A-22");
    }

    #[test]
    fn a25_repeated_parameters() {
        let c1 = client(&["https://c1.example/cb"]);
        let twice = |name: &str, value: &str| {
            let mut pairs: Vec<(String, String)> = vec![];
            for (k, v) in params(&[], &[]).values {
                pairs.push((k, v));
            }
            pairs.push((name.to_owned(), value.to_owned()));
            AuthorizeParams::from_pairs(pairs)
        };
        assert_eq!(redirected_error(run(&twice("state", "b"), &c1)), "invalid_request");
        assert_eq!(redirected_error(run(&twice("scope", "admin"), &c1)), "invalid_request");
        assert!(is_error_page(run(&twice("client_id", "c1"), &c1)));
        assert!(is_error_page(run(&twice("redirect_uri", "https://c1.example/cb"), &c1)));
    }

    #[test]
    fn c01_c05_pkce_is_required_as_s256() {
        let c1 = client(&["https://c1.example/cb"]);
        let missing = run(&params(&[], &["code_challenge", "code_challenge_method"]), &c1);
        assert_eq!(redirected_error(missing), "invalid_request");
        let plain = run(&params(&[("code_challenge_method", "plain")], &[]), &c1);
        assert_eq!(redirected_error(plain), "invalid_request");
        let no_method = run(&params(&[], &["code_challenge_method"]), &c1);
        assert_eq!(redirected_error(no_method), "invalid_request");
    }

    #[test]
    fn a28_state_is_echoed_exactly_or_refused() {
        let c1 = client(&["https://c1.example/cb"]);
        let state = "a b&c=d+e%".repeat(100);
        let request = run(&params(&[("state", &state)], &[]), &c1).unwrap();
        let location = AuthorizationRedirect::success(
            &request.redirect_uri,
            "code1",
            request.state.as_deref(),
            ISS,
        )
        .location();
        let parsed: Vec<(String, String)> = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(parsed[1], ("state".to_owned(), state));
        let long = "x".repeat(MAX_STATE_LEN + 1);
        assert_eq!(
            redirected_error(run(&params(&[("state", &long)], &[]), &c1)),
            "invalid_request"
        );
        let none = run(&params(&[], &["state"]), &c1).unwrap();
        let location =
            AuthorizationRedirect::success(&none.redirect_uri, "c", None, ISS).location();
        assert!(!location.contains("state="));
    }

    #[test]
    fn a06_a16_registered_query_is_kept_once() {
        let c1 = client(&["https://c1.example/cb?a=1"]);
        let request =
            run(&params(&[("redirect_uri", "https://c1.example/cb?a=1")], &[]), &c1).unwrap();
        let location =
            AuthorizationRedirect::success(&request.redirect_uri, "k", Some("s1"), ISS).location();
        assert_eq!(
            location,
            "https://c1.example/cb?a=1&code=k&state=s1&iss=https%3A%2F%2Fas.example"
        );
        assert!(is_error_page(run(
            &params(&[("redirect_uri", "https://c1.example/cb?a=2")], &[]),
            &c1
        )));
    }

    #[test]
    fn a33_a34_unsupported_modes_and_request_objects() {
        let c1 = client(&["https://c1.example/cb"]);
        for mode in ["form_post", "fragment", "web_message"] {
            let result = run(&params(&[("response_mode", mode)], &[]), &c1);
            assert_eq!(redirected_error(result), "invalid_request", "{mode}");
        }
        let uri = run(&params(&[("request_uri", "http://127.0.0.1:9999/x")], &[]), &c1);
        assert_eq!(redirected_error(uri), "request_uri_not_supported");
        let object = run(&params(&[("request", "eyJhbGciOiJub25lIn0.e30.")], &[]), &c1);
        assert_eq!(redirected_error(object), "request_not_supported");
    }

    #[test]
    fn prompt_and_max_age() {
        let c1 = client(&["https://c1.example/cb"]);
        let request =
            run(&params(&[("prompt", "login consent"), ("max_age", "60")], &[]), &c1).unwrap();
        assert_eq!(request.prompt, Prompt { none: false, login: true, consent: true });
        assert_eq!(request.max_age, Some(60));
        for (name, value) in [("prompt", "none login"), ("prompt", "bogus"), ("max_age", "-1")] {
            let result = run(&params(&[(name, value)], &[]), &c1);
            assert_eq!(redirected_error(result), "invalid_request", "{name}={value}");
        }
    }
}
