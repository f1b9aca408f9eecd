/** Tool commands beside the services: each parses its own flags and returns an exit code. */
export interface Command {
  args: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {};
