import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * No function of src/ spans more than 80 lines or takes more than four parameters
 * (generated code aside): past that, a function does several things, and a call with
 * five positional arguments is read by counting commas. An options object names them.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');
const MAX_LINES = 80;
const MAX_PARAMETERS = 4;

function sources(): string[] {
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file) && !file.endsWith('.d.ts') && !file.includes('generated'))
    .map((file) => join(src, file));
}

type FunctionNode = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ConstructorDeclaration | ts.ArrowFunction | ts.FunctionExpression | ts.GetAccessorDeclaration | ts.SetAccessorDeclaration;

function isFunction(node: ts.Node): node is FunctionNode {
  return ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node);
}

/** Every function of `text` over the bounds, as `file:line what`. */
export function oversized(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunction(node) && node.body !== undefined) {
      const line = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
      const where = `${relative(root, file)}:${line(node.getStart()) + 1}`;
      const lines = line(node.body.getEnd()) - line(node.body.getStart()) + 1;
      if (lines > MAX_LINES) found.push(`${where} spans ${lines} lines`);
      // `this` is a type annotation, not an argument a caller passes.
      const parameters = node.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === 'this')).length;
      if (parameters > MAX_PARAMETERS) found.push(`${where} takes ${parameters} parameters`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the shape of functions', () => {
  it(`none spans more than ${MAX_LINES} lines or takes more than ${MAX_PARAMETERS} parameters`, () => {
    expect(sources().flatMap((file) => oversized(file, readFileSync(file, 'utf8')))).toEqual([]);
  });

  it('would catch one that does', () => {
    const long = `function f(a: number, b: number, c: number, d: number, e: number) {\n${'  a++;\n'.repeat(MAX_LINES)}}\n`;
    expect(oversized(join(src, 'x.ts'), long)).toEqual(['src/x.ts:1 spans 82 lines', 'src/x.ts:1 takes 5 parameters']);
  });
});
