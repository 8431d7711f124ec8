//! A PyO3 module backed by C (threads, libm) and C++ (thread_local) compiled by build.rs.
use pyo3::prelude::*;

extern "C" {
    fn cmix_parallel_sum(n: u64) -> u64;
    fn cmix_log_pow_exp(x: f64) -> f64;
    fn cmix_thread_local_counter(times: i64) -> i64;
}

/// Sum 0..n-1 on four C threads.
#[pyfunction]
fn parallel_sum(n: u64) -> PyResult<u64> {
    // SAFETY: a plain C function over integers.
    let total = unsafe { cmix_parallel_sum(n) };
    if total == u64::MAX {
        return Err(pyo3::exceptions::PyOSError::new_err("could not start a thread"));
    }
    Ok(total)
}

/// log(x) + x**1.5 + exp(x/10), computed by libm.
#[pyfunction]
fn log_pow_exp(x: f64) -> f64 {
    // SAFETY: a plain C function over doubles.
    unsafe { cmix_log_pow_exp(x) }
}

/// Count to `times` in a C++ thread_local on a new thread.
#[pyfunction]
fn thread_local_counter(times: i64) -> i64 {
    // SAFETY: the C++ side starts and joins its own thread.
    unsafe { cmix_thread_local_counter(times) }
}

#[pymodule]
fn cmix(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(parallel_sum, m)?)?;
    m.add_function(wrap_pyfunction!(log_pow_exp, m)?)?;
    m.add_function(wrap_pyfunction!(thread_local_counter, m)?)?;
    Ok(())
}
