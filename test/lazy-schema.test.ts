/**
 * Lazy schemas (domain/lazy-schema.ts) behave as the zod schemas they stand for: same results and
 * issues, composition, methods, `instanceof`; and nothing is built before the first use.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { lazySchema } from '../domain/lazy-schema';
import { fqdnSchema } from '../domain/validators';

const buildHost = (zz: typeof z) =>
  zz
    .string()
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => /^[a-z.]+$/.test(v), { error: (i) => `${JSON.stringify(i.input)} is no host` });

describe('lazySchema', () => {
  it('builds nothing until the first use, then once', () => {
    let builds = 0;
    const s = lazySchema((zz) => {
      builds += 1;
      return zz.number();
    });
    assert.equal(builds, 0);
    assert.equal(s.parse(3), 3);
    assert.equal(s.safeParse('x').success, false);
    assert.equal(builds, 1);
  });

  it('parses, refuses and transforms exactly as the eager schema, alone and composed', () => {
    const lazyHost = lazySchema(buildHost);
    const eager = z.strictObject({ a: buildHost(z), b: z.enum(['x', 'y']).default('x'), c: buildHost(z).optional() });
    const lazy = lazySchema((zz) =>
      zz.strictObject({ a: lazyHost, b: zz.enum(['x', 'y']).default('x'), c: lazyHost.optional() })
    );
    const lazyExtended = lazySchema((zz) => lazy.extend({ d: zz.number() }));
    const eagerExtended = eager.extend({ d: z.number() });
    for (const input of [{ a: ' AB.c ' }, { a: 'a1' }, { a: 'x', b: 'z', e: 1 }, null, { a: 'q', c: ' R ', d: 3 }]) {
      assert.equal(JSON.stringify(lazy.safeParse(input)), JSON.stringify(eager.safeParse(input)));
      assert.equal(JSON.stringify(lazyExtended.safeParse(input)), JSON.stringify(eagerExtended.safeParse(input)));
    }
  });

  it('is an instance of its zod class, has its shape and detached methods, and nests in eager schemas', () => {
    const s = lazySchema((zz) => zz.object({ n: zz.number() }));
    assert.ok(s instanceof z.ZodObject);
    assert.deepEqual(Object.keys(s.shape), ['n']);
    const { parse } = s;
    assert.deepEqual(parse({ n: 1 }), { n: 1 });
    const list = z.union([z.literal('all'), z.array(lazySchema((zz) => zz.string().min(2))).min(1)]);
    assert.equal(list.safeParse(['a']).success, false);
    assert.deepEqual(list.parse(['ab']), ['ab']);
  });

  it('keeps the messages that name the field and the fix (the domain validators are lazy)', () => {
    const parsed = fqdnSchema.safeParse('exch 01');
    assert.equal(parsed.success, false);
    assert.match(parsed.error?.issues[0]?.message ?? '', /is not a DNS name: use the server's fully qualified name/);
  });

  it('refuses a schema that uses itself while it is built, and can be built after a failed build', () => {
    const self: z.ZodType = lazySchema(() => self.optional());
    assert.throws(() => self.parse(1), /uses itself/);
    let fail = true;
    const flaky = lazySchema((zz) => {
      if (fail) throw new Error('not yet');
      return zz.number();
    });
    assert.throws(() => flaky.parse(1), /not yet/);
    fail = false;
    assert.equal(flaky.parse(1), 1);
  });
});
