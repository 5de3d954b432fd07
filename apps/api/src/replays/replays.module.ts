import { Module } from '@nestjs/common';
import { ReplaysController } from './replays.controller';
import { ReplaysService } from './replays.service';

@Module({
  controllers: [ReplaysController],
  providers: [ReplaysService],
  exports: [ReplaysService],
})
export class ReplaysModule {}
