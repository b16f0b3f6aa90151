module edgebox.dev/modules

go 1.27

require edgebox.dev/edgebox v0.0.0

// The SDK is this repository's own module; nothing is downloaded.
replace edgebox.dev/edgebox => ../sdk
