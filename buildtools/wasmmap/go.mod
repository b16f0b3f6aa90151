module edgebox.dev/buildtools/wasmmap

go 1.27
