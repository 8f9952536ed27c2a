/**
 * Where each MCP host app keeps its servers (README "What mcpd is"): the file, and the key
 * of the object that maps a server's name to its definition. All but VS Code use `mcpServers`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../core/paths.js';

export const HOST_NAMES = ['claude-desktop', 'claude-code', 'cursor', 'vscode', 'windsurf'] as const;
export type HostName = (typeof HOST_NAMES)[number];

export interface HostFile {
  /** `file`: one given by its path (a project's `.mcp.json`, say). */
  readonly host: HostName | 'file';
  readonly path: string;
  /** Undefined for a `file`: `servers` if that is what it has, else `mcpServers`. */
  readonly key: 'mcpServers' | 'servers' | undefined;
}

export function hostFile(host: HostName, env: Env, platform: NodeJS.Platform = process.platform): HostFile {
  const home = env.HOME || homedir();
  // The folder desktop apps keep their settings in: ~/.config on Linux (or $XDG_CONFIG_HOME).
  const appData = platform === 'darwin' ? join(home, 'Library', 'Application Support')
    : platform === 'win32' ? (env.APPDATA ?? join(home, 'AppData', 'Roaming'))
      : env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  switch (host) {
    case 'claude-desktop': return { host, path: join(appData, 'Claude', 'claude_desktop_config.json'), key: 'mcpServers' };
    case 'claude-code': return { host, path: join(home, '.claude.json'), key: 'mcpServers' };
    case 'cursor': return { host, path: join(home, '.cursor', 'mcp.json'), key: 'mcpServers' };
    case 'vscode': return { host, path: join(appData, 'Code', 'User', 'mcp.json'), key: 'servers' };
    case 'windsurf': return { host, path: join(home, '.codeium', 'windsurf', 'mcp_config.json'), key: 'mcpServers' };
  }
}
