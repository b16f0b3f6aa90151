module edgebox.dev/modules

go 1.27
