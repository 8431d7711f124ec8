//! Compile the C and C++ parts with the target's C/C++ compilers (the cc crate reads
//! CC_<target> / CXX_<target>, which zigwheel points at its zig shims).
fn main() {
    println!("cargo:rerun-if-changed=csrc");
    cc::Build::new()
        .file("csrc/parallel_math.c")
        .flag_if_supported("-pthread")
        .compile("cmix_c");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .file("csrc/counter.cpp")
        .compile("cmix_cpp");
    println!("cargo:rustc-link-lib=m");
    println!("cargo:rustc-link-lib=pthread");
}
