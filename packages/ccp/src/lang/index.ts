/** The datapath language: parse → check → allocate registers → emit, plus the wire encoding and a disassembler. */
export type { BinaryExpr, BinaryOp, CommandExpr, Decl, Expr, Literal, LiteralExpr, NameExpr, ProgramAst, WhenClause } from './ast.js';
export { parse, OPERATORS, MAX_NESTING } from './parser.js';
export { tokenize, type Token, type TokenKind } from './lexer.js';
export {
  check,
  type CheckedProgram,
  type CompileWarning,
  type DeclaredVar,
  type ImplicitVar,
  type LocalVar,
  type PrimitiveVar,
  type ValueType,
  type Variable,
  type WarningCode,
} from './checker.js';
export { allocateRegisters } from './registers.js';
export { compile, compileAst, emit, type CompiledProgramInfo, type ProgramVariable } from './compiler.js';
export { disassemble, disassembleInstruction, formatRegister } from './disassemble.js';
export {
  decodeEvent,
  decodeInstruction,
  decodeProgramBody,
  encodeEvent,
  encodeInstruction,
  encodeProgramBody,
  eventProblem,
  instructionProblem,
  programBodySize,
  EVENT_SIZE,
  INSTRUCTION_SIZE,
} from './encode.js';
