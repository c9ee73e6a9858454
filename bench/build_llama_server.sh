#!/bin/sh
# Build (or find) llama.cpp's llama-server from the copy vendored in the
# llama-cpp-python source package, and print its path.
#
# GGML_NATIVE=OFF and AMX off: a native build on some shared CPUs segfaults.
# The build lives outside the repository (MICRODRAMA_LLAMA_DIR, default
# ~/.cache/microdrama-llama); about 12 minutes on 2 cores.
set -eu
dir="${MICRODRAMA_LLAMA_DIR:-$HOME/.cache/microdrama-llama}"
pip="${PIP:-pip}"
jobs="${JOBS:-2}"
server="$dir/build/bin/llama-server"
if [ -x "$server" ]; then echo "$server"; exit 0; fi
if command -v llama-server >/dev/null 2>&1; then command -v llama-server; exit 0; fi
mkdir -p "$dir"
sdist=$(ls "$dir"/llama_cpp_python-*.tar.gz 2>/dev/null | head -n 1 || true)
if [ -z "$sdist" ]; then
    "$pip" download llama-cpp-python --no-binary :all: --no-deps -d "$dir" >&2
    sdist=$(ls "$dir"/llama_cpp_python-*.tar.gz | head -n 1)
fi
src="$dir/src"
if [ ! -f "$src/CMakeLists.txt" ]; then
    mkdir -p "$src"
    tar -xzf "$sdist" -C "$src" --strip-components=3 \
        --wildcards '*/vendor/llama.cpp/*'
fi
cmake -S "$src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
    -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
nice -n 15 cmake --build "$dir/build" --config Release -j "$jobs" \
    --target llama-server >&2
echo "$server"
