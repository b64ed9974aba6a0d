import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../../lib/constructs/network';
import { newTestStack } from '../fixtures';

const groupId = (template: Template, logicalIdPrefix: string) => {
  const [logicalId] = Object.keys(template.findResources('AWS::EC2::SecurityGroup')).filter((id) =>
    id.startsWith(logicalIdPrefix),
  );
  return { 'Fn::GetAtt': [logicalId, 'GroupId'] };
};

describe('Network', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN a stack
    const stack = newTestStack();
    // WHEN a Network with HTTPS listener ports is added
    new Network(stack, 'Network', { albListenerPorts: [80, 443] });
    template = Template.fromStack(stack);
  });

  it('spans two AZs with public, private-with-egress and isolated subnets', () => {
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet'));
    const types = subnets.map(
      (subnet) =>
        subnet.Properties.Tags.find((tag: { Key: string }) => tag.Key === 'aws-cdk:subnet-type')
          .Value,
    );
    expect(types.sort()).toEqual([
      'Isolated',
      'Isolated',
      'Private',
      'Private',
      'Public',
      'Public',
    ]);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  it('logs all VPC traffic to CloudWatch Logs', () => {
    template.hasResourceProperties(
      'AWS::EC2::FlowLog',
      Match.objectLike({
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      }),
    );
    template.hasResourceProperties(
      'AWS::Logs::LogGroup',
      Match.objectLike({ RetentionInDays: 30 }),
    );
  });

  it('opens the ALB listener ports to the VPC only, where CloudFront VPC origins connect from', () => {
    template.hasResourceProperties(
      'AWS::EC2::SecurityGroup',
      Match.objectLike({
        GroupDescription: 'Sluice internal ALB: CloudFront in',
        SecurityGroupIngress: [
          Match.objectLike({ CidrIp: '10.0.0.0/16', FromPort: 80, ToPort: 80 }),
          Match.objectLike({ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443 }),
        ],
      }),
    );
    const inline = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap(
      (group) => group.Properties.SecurityGroupIngress ?? [],
    );
    expect(JSON.stringify(inline)).not.toContain('0.0.0.0/0');
  });

  it('admits exactly ALB to APP on 3000 and tasks to RDS on 5432 and Redis on 6379', () => {
    const alb = groupId(template, 'NetworkAlbSecurityGroup');
    const app = groupId(template, 'NetworkAppSecurityGroup');
    const worker = groupId(template, 'NetworkWorkerSecurityGroup');
    const database = groupId(template, 'NetworkDatabaseSecurityGroup');
    const cache = groupId(template, 'NetworkCacheSecurityGroup');
    const rules = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map(
      ({ Properties: rule }) => ({
        to: rule.GroupId,
        from: rule.SourceSecurityGroupId,
        port: [rule.IpProtocol, rule.FromPort, rule.ToPort],
      }),
    );
    expect(rules).toHaveLength(5);
    expect(rules).toEqual(
      expect.arrayContaining([
        { to: app, from: alb, port: ['tcp', 3000, 3000] },
        { to: database, from: app, port: ['tcp', 5432, 5432] },
        { to: database, from: worker, port: ['tcp', 5432, 5432] },
        { to: cache, from: app, port: ['tcp', 6379, 6379] },
        { to: cache, from: worker, port: ['tcp', 6379, 6379] },
      ]),
    );
  });

  it('gives RDS, Redis and the worker tasks no inbound rule of their own', () => {
    for (const description of [
      'Sluice RDS PostgreSQL',
      'Sluice ElastiCache',
      'Sluice worker tasks',
    ]) {
      template.hasResourceProperties(
        'AWS::EC2::SecurityGroup',
        Match.objectLike({ GroupDescription: description, SecurityGroupIngress: Match.absent() }),
      );
    }
  });

  it('rejects more NAT gateways than AZs', () => {
    expect(() => new Network(newTestStack(), 'Network', { natGateways: 3 })).toThrow(
      'natGateways must be 0, 1 or 2 (got 3)',
    );
  });

  describe('with no NAT gateway', () => {
    it('has public and isolated subnets only, no NAT, and keeps the S3 gateway endpoint', () => {
      // GIVEN a stack WHEN the network has natGateways 0
      const stack = newTestStack();
      const network = new Network(stack, 'Network', { natGateways: 0 });
      const template = Template.fromStack(stack);
      // THEN nothing routes through a NAT, and tasks are placed in public subnets with an IP
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::Subnet', 4);
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      });
      expect(network.tasksNeedPublicIp).toBe(true);
      expect(network.taskSubnets).toEqual({ subnetType: 'Public' });
      expect(network.albSubnets).toEqual({ subnetType: 'Isolated' });
    });

    it('admits nothing from the internet to the task security groups', () => {
      const stack = newTestStack();
      new Network(stack, 'Network', { natGateways: 0 });
      const template = Template.fromStack(stack);
      const rules = [
        ...Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map(
          (rule) => rule.Properties,
        ),
        ...Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap(
          (group) => group.Properties.SecurityGroupIngress ?? [],
        ),
      ];
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        expect(rule.CidrIpv6).toBeUndefined();
      }
    });
  });
});
