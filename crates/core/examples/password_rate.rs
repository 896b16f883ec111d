//! How many argon2id password verifications one thread does per second with the parameters
//! Portcullis stores passwords with: the ceiling of the sign-in rate per core. Run by
//! bench/run.sh pinned to one core; prints one BENCH line.

use std::time::{Duration, Instant};

use portcullis_core::password::{hash_password, verify_password};

fn main() {
    let stored = hash_password("correct horse battery staple").expect("hash");
    let run_for = Duration::from_secs(5);

    let started = Instant::now();
    let mut verified = 0u32;
    while started.elapsed() < run_for {
        assert!(verify_password("correct horse battery staple", Some(&stored)));
        verified += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "BENCH argon2id_verifications={verified} seconds={seconds:.2} per_second={:.1} \
         ms_each={:.1}",
        f64::from(verified) / seconds,
        seconds * 1000.0 / f64::from(verified)
    );
}
