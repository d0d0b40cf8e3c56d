// The Charter extension: the grammar and language configuration are declared in
// package.json; this file only starts `charter lsp` over stdio and connects VS Code to it.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const settings = vscode.workspace.getConfiguration("charter.server");
  const run = {
    command: settings.get("command", "charter"),
    args: settings.get("args", ["lsp"]),
    transport: TransportKind.stdio,
  };
  return { run, debug: run };
}

function clientOptions() {
  return {
    documentSelector: [{ language: "charter" }],
    synchronize: {
      // `use "other.charter" as o` makes one file's diagnostics depend on another's text.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.charter"),
    },
  };
}

async function activate(context) {
  client = new LanguageClient("charter", "Charter", serverOptions(), clientOptions());
  context.subscriptions.push(
    vscode.commands.registerCommand("charter.restartServer", () => client.restart()),
  );
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
