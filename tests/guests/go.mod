module edgebox.dev/testguests

go 1.27
