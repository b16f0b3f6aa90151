module edgebox.dev/edgebox

go 1.27
