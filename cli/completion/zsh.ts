/**
 * `mcpd completion zsh`: the same walk as bash's (cli/completion/bash.ts) in zsh, offering verbs
 * and flags with their descriptions through compadd. Names mcpd lists are split on newlines
 * only and added as they are; compadd quotes them, nothing evaluates them.
 */
import { type CommandSpec, flatten, shellQuote, valueKinds } from './tree.js';

const array = (items: readonly string[]) => `(${items.map(shellQuote).join(' ')})`;

/** The script, for `source <(mcpd completion zsh)` or a file `_mcpd` on $fpath. */
export function zshScript(root: CommandSpec, version: string): string {
  const cases = flatten(root).map(({ paths, spec }) => {
    const subs = spec.subcommands.flatMap((s) => s.names.map((n) => [n, s.description] as const));
    const opts = spec.options.flatMap((o) => o.flags.map((f) => [f, o.description] as const));
    const vars = [
      `_mcpd_subs=${array(subs.map(([n]) => n))}`,
      `_mcpd_descs=${array(subs.map(([n, d]) => `${n} -- ${d}`))}`,
      `_mcpd_opts=${array(opts.map(([f]) => f))}`,
      `_mcpd_optdescs=${array(opts.map(([f, d]) => `${f} -- ${d}`))}`,
      `_mcpd_valopts=${array(spec.options.filter((o) => o.takesValue).flatMap((o) => o.flags))}`,
      `_mcpd_choices=${array(Array.isArray(spec.argument) ? spec.argument : [])}`,
      `_mcpd_arg=${typeof spec.argument === 'string' ? spec.argument : "''"}`,
    ];
    return `    ${paths.map(shellQuote).join('|')})\n      ${vars.join('\n      ')} ;;`;
  });
  const kinds = [...valueKinds(root)].map(([flag, kind]) => `    ${shellQuote(flag)}) print ${kind} ;;`);
  return `#compdef mcpd
# mcpd ${version} completion for zsh, generated from its commands by \`mcpd completion zsh\`.
# Load it from ~/.zshrc, after compinit:  source <(mcpd completion zsh)
# (or save it as _mcpd in a folder of $fpath).

_mcpd_spec() {
  _mcpd_subs=() _mcpd_descs=() _mcpd_opts=() _mcpd_optdescs=() _mcpd_valopts=() _mcpd_choices=() _mcpd_arg=''
  case "$1" in
${cases.join('\n')}
  esac
}

_mcpd_value_kind() {
  case "$1" in
${kinds.join('\n')}
  esac
}

_mcpd() {
  # Not "path": zsh ties that name to $PATH.
  local cur=\${words[CURRENT]} cmdpath='' word value_of='' kind='' _mcpd_arg
  local -i i args=0
  local -a _mcpd_subs _mcpd_descs _mcpd_opts _mcpd_optdescs _mcpd_valopts _mcpd_choices config names
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if [[ -n $value_of ]]; then
      [[ $value_of == -c || $value_of == --config ]] && config=(--config "$word")
      value_of=''
      continue
    fi
    # After --, the words are an ad-hoc command's: complete them as that command's own.
    if [[ $word == -- ]]; then
      words=("\${(@)words[i+1,-1]}")
      (( CURRENT -= i ))
      _normal
      return
    fi
    _mcpd_spec "$cmdpath"
    if [[ $word == -* ]]; then
      [[ $word != *=* ]] && (( \${_mcpd_valopts[(Ie)$word]} )) && value_of=$word
    elif (( args == 0 && \${_mcpd_subs[(Ie)$word]} )); then
      cmdpath=\${cmdpath:+$cmdpath }$word
    else
      (( args++ ))
    fi
  done
  _mcpd_spec "$cmdpath"
  if [[ -n $value_of ]]; then
    kind=$(_mcpd_value_kind "$value_of")
  elif [[ $cur == -* ]]; then
    compadd -l -d _mcpd_optdescs -a _mcpd_opts
    return
  elif (( args == 0 )); then
    compadd -l -d _mcpd_descs -a _mcpd_subs
    compadd -a _mcpd_choices
    kind=$_mcpd_arg
  fi
  case $kind in
    files) _files ;;
    servers|secrets|rotations)
      names=(\${(f)"$(mcpd $config __complete $kind 2>/dev/null </dev/null)"})
      compadd -a names ;;
  esac
}

if [[ \${funcstack[1]} == _mcpd ]]; then _mcpd "$@"; else compdef _mcpd mcpd; fi
`;
}
