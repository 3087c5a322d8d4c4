#compdef provctl

_provctl_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _PROVCTL_COMPLETE=complete_zsh provctl)
}

compdef _provctl_completion provctl
