// Hydrates an end-user page (sign-in, consent, account, messages) once the wasm bundle has
// loaded. It is a file rather than an inline script so that those pages' Content-Security-Policy
// allows no inline script at all.
import init, { hydrate_page } from '/pkg/portcullis.js';

init({ module_or_path: '/pkg/portcullis.wasm' }).then(() => hydrate_page());
