/**
 * Field schemas the config's parts share (schema.ts, access-schema.ts): each check written once.
 */
import { z } from 'zod';
import { globProblem } from '../policy/check.js';

/** A policy glob; one that can never match anything is an error, not a silent no-op. */
export const glob = z.string().superRefine((text, ctx) => {
  const problem = globProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** An HTTP header's name (RFC 9110 token). */
export const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name such as "Authorization"');

/** A name of the config's `roles`. */
export const roleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a role name of letters, digits, _ . -');
