//! A version-specific (non-abi3) extension: built once per CPython version.
use pyo3::prelude::*;

/// The (major, minor) version of the running interpreter.
#[pyfunction]
fn python_version(py: Python<'_>) -> (u8, u8) {
    let info = py.version_info();
    (info.major, info.minor)
}

/// The n-th Fibonacci number.
#[pyfunction]
fn fib(n: u32) -> u128 {
    let (mut a, mut b) = (0u128, 1u128);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

#[pymodule]
fn versioned(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(python_version, m)?)?;
    m.add_function(wrap_pyfunction!(fib, m)?)?;
    Ok(())
}
