"""The three shells' side of completion: the scripts ``provctl completion SHELL`` prints, how
bash's command line is split into words, and how a candidate is quoted for bash.

The protocol between a script and ``provctl __complete`` (``engine.main``):

  bash   provctl __complete bash LINE WORD    LINE: the command line up to the cursor
                                              (``${COMP_LINE:0:COMP_POINT}``); WORD: ``$2``,
                                              the part readline replaces (after an opening
                                              quote or the last ``COMP_WORDBREAKS`` character)
  zsh    provctl __complete zsh -- WORDS… CURRENT    words after the command name, quotes
  fish   provctl __complete fish -- WORDS… CURRENT   removed by the shell; CURRENT: the word
                                                     being typed, up to the cursor

The answer, on stdout: a first line ``values`` or ``files`` (complete file names the shell's
own way), then one candidate a line. zsh and fish get ``VALUE<TAB>DESCRIPTION`` and do the
matching and the quoting themselves; bash gets the text readline inserts, already filtered
and quoted for the context of the cursor. Names never contain control characters (SPEC §1),
and a candidate that does anyway is dropped, so a line is always one whole candidate.
"""

from __future__ import annotations

SHELLS = ("bash", "zsh", "fish")

# ---------------------------------------------------------------- bash: words and quoting


def split_line(line: str) -> tuple[list[str], str, str, str | None]:
    """Split a bash command line (up to the cursor) as the shell would.

    Returns the finished words with their quotes removed, then the word being typed: its raw
    text, its value with quotes removed, and the quote still open at the cursor (``'``,
    ``"`` or None). Expansions (``$VAR``, ``~``, globs) are not performed.
    """
    words: list[str] = []
    value: list[str] = []
    start: int | None = None
    quote: str | None = None
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if quote is None and ch in " \t\n":
            if start is not None:
                words.append("".join(value))
                value, start = [], None
            i += 1
            continue
        if start is None:
            start = i
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                value.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = None
            elif ch == "\\" and i + 1 < n and line[i + 1] in '$`"\\\n':
                i += 1
                value.append(line[i])
            else:
                value.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == "\\":
            if i + 1 < n:
                i += 1
                if line[i] != "\n":
                    value.append(line[i])
        else:
            value.append(ch)
        i += 1
    raw = line[start:] if start is not None else ""
    return words, raw, "".join(value), quote


# What a backslash must protect in an unquoted bash word (a superset is harmless), and inside
# double quotes, where `!` cannot be escaped (history expansion): close, escape, reopen.
_UNQUOTED = str.maketrans({c: "\\" + c for c in " \t\n'\"\\$`!&|;<>()*?[]{}#~^,"})
_IN_DOUBLE = str.maketrans({**{c: "\\" + c for c in '"$`\\'}, "!": '"\\!"'})


def bash_quote(text: str, quote: str | None) -> str:
    """``text`` as it must be typed in bash after an open ``quote`` (or none)."""
    if quote == "'":
        return text.replace("'", "'\\''")
    return text.translate(_IN_DOUBLE if quote == '"' else _UNQUOTED)


def bash_inserts(values: list[str], raw: str, word: str, quote: str | None) -> list[str]:
    """What readline must insert in place of ``word`` (``$2``) so that the word on the line
    becomes each value: the value minus what stays on the line before ``word`` (an opening
    quote, ``--format=``, ``openai:``…), quoted for the context at the cursor."""
    head_raw = raw[: len(raw) - len(word)] if raw.endswith(word) else ""
    head = split_line(head_raw)[2]
    return [bash_quote(v[len(head):] if v.startswith(head) else v, quote) for v in values]


# ---------------------------------------------------------------- the scripts

_BASH = r"""# bash completion for provctl. Install: add this line to ~/.bashrc
#   eval "$(provctl completion bash)"
# Every TAB runs `provctl __complete bash …`, which reads names from the database read-only
# and answers nothing when it is missing.
_provctl() {
    local -a reply
    mapfile -t reply < <(command "$1" __complete bash "${COMP_LINE:0:COMP_POINT}" "$2" 2>/dev/null)
    COMPREPLY=()
    case ${reply[0]-} in
        files)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
        values)
            COMPREPLY=("${reply[@]:1}") ;;
    esac
    return 0
}
complete -o nosort -F _provctl provctl 2>/dev/null || complete -F _provctl provctl
"""

_ZSH = r"""#compdef provctl
# zsh completion for provctl. Install: add this line to ~/.zshrc (after compinit, if you run it)
#   eval "$(provctl completion zsh)"
# or save this output as _provctl in a directory of your $fpath.
# Every TAB runs `provctl __complete zsh …`, which reads names from the database read-only
# and answers nothing when it is missing.
_provctl() {
    local -a reply values shown
    local line value desc
    local -i width=0
    reply=("${(@f)$(command ${(Q)words[1]} __complete zsh -- "${(@Q)words[2,CURRENT-1]}" "${(Q)PREFIX}" 2>/dev/null)}")
    case $reply[1] in
        files) [[ $PREFIX == -*=* ]] && compset -P '*='; _files; return ;;
        values) ;;
        *) return 1 ;;
    esac
    for line in "${(@)reply[2,-1]}"; do
        value=${line%%$'\t'*}
        values+=("$value")
        (( ${#value} > width )) && width=${#value}
    done
    (( $#values )) || return 1
    for line in "${(@)reply[2,-1]}"; do
        value=${line%%$'\t'*}
        desc=${line#*$'\t'}
        [[ $desc == "$line" ]] && desc=
        shown+=("${(r:width:)value}${desc:+  -- $desc}")
    done
    compadd -M 'm:{[:lower:]}={[:upper:]}' -l -d shown -- "${values[@]}"
}
if [[ $funcstack[1] == _provctl ]]; then
    _provctl "$@"  # autoloaded from $fpath
else
    (( $+functions[compdef] )) || { autoload -Uz compinit && compinit }
    compdef _provctl provctl
fi
"""

_FISH = r"""# fish completion for provctl. Install: add this line to ~/.config/fish/config.fish
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
"""

SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def script(shell: str) -> str:
    return SCRIPTS[shell]
