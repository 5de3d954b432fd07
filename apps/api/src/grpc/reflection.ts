import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDescriptorProto, FileDescriptorSet } from 'protobufjs/ext/descriptor';
import { projectRoot } from '../../../../libs/config/project-root';

/** What `buf build proto --as-file-descriptor-set` compiles from the .proto (test/contract checks it is current). */
export const DESCRIPTOR_SET_PATH = join(projectRoot(), 'proto', 'webhooks.binpb');

/**
 * Server reflection from the compiled descriptor set: every file under its real name with its imports
 * (google/protobuf/struct.proto among them) and its comments, so grpcurl and other generic clients resolve every
 * message from the server alone. (@grpc/reflection given proto-loader's package definition serves files regrouped
 * by package and without their dependency lists: a client could list the service but not resolve
 * PublishRequest.actor.)
 */
export function reflectionService(): ReflectionService {
  const set = FileDescriptorSet.decode(readFileSync(DESCRIPTOR_SET_PATH)) as unknown as { file: object[] };
  const files = set.file.map((file) => FileDescriptorProto.encode(file).finish());
  return new ReflectionService({ compiled: { fileDescriptorProtos: files } } as unknown as PackageDefinition);
}
