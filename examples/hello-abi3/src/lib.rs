//! The smallest useful abi3 extension: a few functions and a version attribute.
use pyo3::prelude::*;

/// Add two integers.
#[pyfunction]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Greet someone by name.
#[pyfunction]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

/// Sum 0..n on a spawned thread (touches the thread API of the C library).
#[pyfunction]
fn sum_on_thread(n: u64) -> u64 {
    std::thread::spawn(move || (0..n).sum()).join().unwrap_or(0)
}

#[pymodule]
fn hello_abi3(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(greet, m)?)?;
    m.add_function(wrap_pyfunction!(sum_on_thread, m)?)?;
    Ok(())
}
