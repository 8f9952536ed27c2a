/** What mcpd migrate --undo writes: the old text while the file is as migrate left it, else only mcpd's entries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Backup, decodeBackup, encodeBackup, sha256, undoText } from '../../../cli/migrate/backup.js';

const original = { command: 'npx', args: ['-y', 'a-mcp'], env: { API_KEY: 'k-123456' } };
const before = `{\n  // kept\n  "mcpServers": { "a": ${JSON.stringify(original)} }\n}\n`;
const wrote = `{\n  // kept\n  "mcpServers": { "a": { "command": "mcpd", "args": ["run", "a"] } }\n}\n`;
const backup: Backup = { before, wrote: sha256(wrote), entries: [{ path: ['mcpServers', 'a'], original }] };

describe('migrate backup', () => {
  it('the file as migrate wrote it: the old text back, byte for byte', () => {
    assert.deepEqual(undoText(backup, wrote), { text: before, whole: true, restored: [], changed: [] });
  });

  it('a file the host app saved since: only the entries still running through mcpd are put back', () => {
    const saved = JSON.stringify({ mcpServers: { a: { command: 'mcpd', args: ['run', 'a'] }, added: { command: 'node' } }, theme: 'dark' });
    const undone = undoText(backup, saved);
    assert.equal(undone.whole, false);
    assert.deepEqual(undone.restored, ['a']);
    assert.deepEqual(JSON.parse(undone.text), { mcpServers: { a: original, added: { command: 'node' } }, theme: 'dark' });
    const edited = JSON.stringify({ mcpServers: { a: { command: 'node', args: ['mine.js'] } } });
    assert.deepEqual(undoText(backup, edited), { text: edited, whole: false, restored: [], changed: ['a'] });
  });

  it('a second migration keeps the first one\'s entries, so undo puts both back', () => {
    const second: Backup = { before: wrote.replace('"a"', '"b": { "command": "x" }, "a"'), wrote: sha256('later'), entries: [{ path: ['mcpServers', 'b'], original: { command: 'x' } }] };
    const stored = decodeBackup(encodeBackup(second, decodeBackup(encodeBackup(backup, undefined))));
    assert.deepEqual(stored.entries.map((e) => e.path), [['mcpServers', 'a'], ['mcpServers', 'b']]);
    const undone = undoText(stored, 'later');
    assert.equal(undone.whole, true);
    assert.deepEqual(JSON.parse(undone.text.replace('// kept', '')), { mcpServers: { b: { command: 'x' }, a: original } });
  });

  it('a copy kept as plain text by an earlier mcpd goes back whole', () => {
    assert.deepEqual(decodeBackup(before), { before, wrote: undefined, entries: [] });
  });
});
