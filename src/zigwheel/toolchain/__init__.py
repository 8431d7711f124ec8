"""The toolchain: target table, pinned zig, shims and rewrites, rustc choice, doctor."""
