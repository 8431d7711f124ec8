"""Runtime proof: a wheel installed into a throwaway Python (venv, root, qemu) runs its tests."""
