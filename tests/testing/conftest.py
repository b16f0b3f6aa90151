# The sample user project's own test file runs only in the plugin's sessions, never here.
collect_ignore = ["userproject"]
