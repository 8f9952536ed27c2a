/**
 * `mcpd completion bash`: one case per command path (its verbs, its flags, the flags that take
 * a value, what its argument names) and one function that walks the words typed so far.
 * Names mcpd lists (servers, secrets) are matched as plain strings, never through `compgen -W`,
 * which would expand a `$(…)` inside a name.
 */
import { type CommandSpec, flatten, shellQuote, valueKinds } from './tree.js';

/** The script, for `source <(mcpd completion bash)`. */
export function bashScript(root: CommandSpec, version: string): string {
  const cases = flatten(root).map(({ paths, spec }) => {
    const choices = Array.isArray(spec.argument) ? spec.argument : [];
    const vars = [
      `_mcpd_subs=${shellQuote(spec.subcommands.flatMap((s) => s.names).join(' '))}`,
      `_mcpd_choices=${shellQuote(choices.join(' '))}`,
      `_mcpd_opts=${shellQuote(spec.options.flatMap((o) => o.flags).join(' '))}`,
      `_mcpd_valopts=${shellQuote(spec.options.filter((o) => o.takesValue).flatMap((o) => o.flags).join(' '))}`,
      `_mcpd_arg=${typeof spec.argument === 'string' ? spec.argument : "''"}`,
    ];
    return `    ${paths.map(shellQuote).join('|')}) ${vars.join(' ')} ;;`;
  });
  const kinds = [...valueKinds(root)].map(([flag, kind]) => `    ${flag}) echo ${kind} ;;`);
  return `# mcpd ${version} completion for bash, generated from its commands by \`mcpd completion bash\`.
# Load it from ~/.bashrc:  source <(mcpd completion bash)

_mcpd_spec() {
  _mcpd_subs='' _mcpd_choices='' _mcpd_opts='' _mcpd_valopts='' _mcpd_arg=''
  case "$1" in
${cases.join('\n')}
  esac
}

_mcpd_value_kind() {
  case "$1" in
${kinds.join('\n')}
  esac
}

# Adds each line of stdin that starts with the word being completed, taken literally
# (fed by < <(…): a pipe would run it in a subshell, and COMPREPLY would be lost).
_mcpd_add() {
  local line
  while IFS= read -r line; do
    [[ -n $line && $line == "$_mcpd_cur"* ]] && COMPREPLY+=("$line")
  done
}

_mcpd() {
  local _mcpd_cur="\${COMP_WORDS[COMP_CWORD]}" path='' word i value_of='' args=0 kind=''
  local _mcpd_subs _mcpd_choices _mcpd_opts _mcpd_valopts _mcpd_arg
  local -a config=()
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n $value_of ]]; then
      [[ $value_of == -c || $value_of == --config ]] && config=(--config "$word")
      value_of=''
      continue
    fi
    # After --, the words are an ad-hoc command's: the shell's own completion applies.
    if [[ $word == -- ]]; then compopt -o default 2>/dev/null; return 0; fi
    _mcpd_spec "$path"
    if [[ $word == -* ]]; then
      [[ $word != *=* && " $_mcpd_valopts " == *" $word "* ]] && value_of=$word
    elif [[ $args == 0 && " $_mcpd_subs " == *" $word "* ]]; then
      path="\${path:+$path }$word"
    else
      args=$((args + 1))
    fi
  done
  _mcpd_spec "$path"
  if [[ -n $value_of ]]; then
    kind=$(_mcpd_value_kind "$value_of")
  elif [[ $_mcpd_cur == -* ]]; then
    _mcpd_add < <(tr ' ' '\\n' <<<"$_mcpd_opts")
    return 0
  elif [[ $args == 0 ]]; then
    _mcpd_add < <(tr ' ' '\\n' <<<"$_mcpd_subs $_mcpd_choices")
    kind=$_mcpd_arg
  fi
  case "$kind" in
    files) compopt -o default 2>/dev/null ;;
    servers|secrets|rotations) _mcpd_add < <(mcpd "\${config[@]}" __complete "$kind" 2>/dev/null </dev/null) ;;
  esac
  return 0
}

complete -F _mcpd mcpd
`;
}
