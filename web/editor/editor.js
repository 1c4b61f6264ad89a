// editor.js — the SQL editor (CodeMirror 6 with its SQL mode), bundled by esbuild into
// vendor/editor.js at `make build`: the only part of the console that needs a bundler.
import { EditorView, basicSetup } from 'codemirror';
import { sql } from '@codemirror/lang-sql';

// An editor in host holding doc; value() reads it, goto(line, column) puts the cursor there.
// It lives in an open shadow root: CodeMirror then styles itself with constructed style sheets,
// which the console's Content-Security-Policy allows, where it forbids <style> elements.
export function createEditor(host, doc) {
  const root = host.attachShadow({ mode: 'open' });
  const parent = document.createElement('div');
  root.append(parent);
  const view = new EditorView({ doc, extensions: [basicSetup, sql(), EditorView.lineWrapping], parent, root });
  view.contentDOM.setAttribute('aria-label', 'SQL');
  return {
    view,
    value: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    goto(line, column) {
      const l = view.state.doc.line(Math.min(Math.max(line, 1), view.state.doc.lines));
      const pos = Math.min(l.from + Math.max(column - 1, 0), l.to);
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      view.focus();
    },
  };
}
