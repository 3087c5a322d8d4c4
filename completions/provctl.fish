# fish completion for provctl. Install: add this line to ~/.config/fish/config.fish
#   provctl completion fish | source
# or save this output as ~/.config/fish/completions/provctl.fish
# Every TAB runs `provctl __complete fish …`, which reads names from the database read-only
# and answers nothing when it is missing.
function __provctl_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct | string unescape)
    set -l reply (command $tokens[1] __complete fish -- $tokens[2..-1] "$current" 2>/dev/null)
    switch "$reply[1]"
        case files
            set -l head (string match -r -- '^-[^=]*=' "$current")
            for path in (__fish_complete_path (string replace -r -- '^-[^=]*=' '' "$current"))
                printf '%s%s\n' "$head" $path
            end
        case values
            printf '%s\n' $reply[2..-1]
    end
end
complete -c provctl -e
complete -c provctl -f -a '(__provctl_complete)'
