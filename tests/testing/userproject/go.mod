module example.com/qa

go 1.27

require edgebox.dev/edgebox v0.0.0
