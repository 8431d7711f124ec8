//! A program shipped in a wheel (`bindings = "bin"`): `hello-bin --version` prints its version
//! and the C library it runs on, `hello-bin NAME` greets.

use std::env;
use std::process::ExitCode;

#[cfg(target_env = "gnu")]
fn libc() -> String {
    use std::ffi::{c_char, CStr};
    extern "C" {
        fn gnu_get_libc_version() -> *const c_char;
    }
    // SAFETY: glibc returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(gnu_get_libc_version()) };
    format!("glibc {}", version.to_string_lossy())
}

#[cfg(not(target_env = "gnu"))]
fn libc() -> String {
    String::from("musl")
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") => {
            println!("hello-bin {} (running on {})", env!("CARGO_PKG_VERSION"), libc());
            ExitCode::SUCCESS
        }
        Some(name) if !name.starts_with('-') => {
            println!("hello, {name}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: hello-bin --version | hello-bin NAME");
            ExitCode::from(2)
        }
    }
}
