//! Server library.
